// Writes openapi/openapi.json from the route schemas (the same document /openapi.json serves).
import { writeFileSync } from 'node:fs';
import { buildApp } from '../src/app.js';
import { createCrypto } from '../src/lib/crypto.js';
import type pg from 'pg';
import type { Db } from '../src/db/prisma.js';
import { openapiDocument } from '../src/plugins/openapi.js';

const key = Buffer.alloc(32);
const app = await buildApp({
  config: {
    LOG_LEVEL: 'silent',
    BODY_LIMIT_BYTES: 1,
    TRUST_PROXY: false,
    RATE_LIMIT_MAX: 1,
    RATE_LIMIT_WINDOW_MS: 1000,
    API_KEY_CACHE_MS: 0,
    publicUrl: 'http://localhost:9900',
  },
  // The document needs no database.
  db: {} as Db,
  pool: {} as pg.Pool,
  crypto: createCrypto({ hmacSecret: key, encryptionKeys: new Map([['x', key]]), activeKeyId: 'x' }),
});
await app.ready();
writeFileSync('openapi/openapi.json', JSON.stringify(openapiDocument(app), null, 2) + '\n');
await app.close();
console.log('wrote openapi/openapi.json');
