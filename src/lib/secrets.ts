/**
 * The server's own secrets: the HMAC key for API keys and the encryption keyring. Taken from the
 * configuration; outside production, missing ones are generated once and kept in
 * <data dir>/secrets.json (mode 0600) so that the zero-config start works. That is for development.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from './config.js';
import { ConfigError } from './config.js';

export type ServerSecrets = {
  hmacSecret: Buffer;
  /** Key id → 32-byte key; `activeKeyId` encrypts, all decrypt. */
  encryptionKeys: Map<string, Buffer>;
  activeKeyId: string;
  /** True when some secret came from the generated development file. */
  generated: boolean;
};

function decodeSecret(value: string, what: string): Buffer {
  const buf = /^[0-9a-fA-F]+$/.test(value) && value.length % 2 === 0 ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
  if (buf.length < 32) throw new ConfigError(`${what} must decode to at least 32 bytes (base64 or hex)`);
  return buf;
}

export function parseKeyring(spec: string): { keys: Map<string, Buffer>; activeKeyId: string } {
  const keys = new Map<string, Buffer>();
  let activeKeyId = '';
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([A-Za-z0-9_-]{1,32}):(.+)$/.exec(part);
    if (!m) throw new ConfigError('LATCHKEY_ENCRYPTION_KEYS must look like id:base64key[,id:base64key...]');
    const [, id, material] = m as unknown as [string, string, string];
    const key = decodeSecret(material, `encryption key ${id}`);
    if (key.length !== 32) throw new ConfigError(`encryption key ${id} must be exactly 32 bytes`);
    if (keys.has(id)) throw new ConfigError(`encryption key id ${id} appears twice`);
    keys.set(id, key);
    activeKeyId ||= id;
  }
  if (!activeKeyId) throw new ConfigError('LATCHKEY_ENCRYPTION_KEYS holds no key');
  return { keys, activeKeyId };
}

type DevFile = { hmac_secret: string; encryption_keys: string };

export function resolveSecrets(config: Config, warn: (msg: string) => void): ServerSecrets {
  let hmac = config.LATCHKEY_HMAC_SECRET;
  let keyring = config.LATCHKEY_ENCRYPTION_KEYS;
  let generated = false;
  if (!hmac || !keyring) {
    if (config.isProduction) throw new ConfigError('secrets are required in production');
    const file = path.join(config.dataDir, 'secrets.json');
    let dev: DevFile;
    if (existsSync(file)) {
      dev = JSON.parse(readFileSync(file, 'utf8')) as DevFile;
    } else {
      mkdirSync(config.dataDir, { recursive: true });
      dev = {
        hmac_secret: randomBytes(32).toString('base64'),
        encryption_keys: `dev1:${randomBytes(32).toString('base64')}`,
      };
      writeFileSync(file, JSON.stringify(dev, null, 2) + '\n', { mode: 0o600 });
    }
    chmodSync(file, 0o600);
    hmac ??= dev.hmac_secret;
    keyring ??= dev.encryption_keys;
    generated = true;
    warn(
      `Using development secrets from ${file}. This is for development only: set LATCHKEY_HMAC_SECRET and ` +
        'LATCHKEY_ENCRYPTION_KEYS (and NODE_ENV=production) for real use.',
    );
  }
  const { keys, activeKeyId } = parseKeyring(keyring);
  return { hmacSecret: decodeSecret(hmac, 'LATCHKEY_HMAC_SECRET'), encryptionKeys: keys, activeKeyId, generated };
}
