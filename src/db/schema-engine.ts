/**
 * Prisma's own schema engine, compiled to WebAssembly, driven over a `pg` driver adapter. It applies
 * prisma/migrations/ with Prisma's `_prisma_migrations` bookkeeping, exactly as `prisma migrate deploy`
 * does, without the native engine binary that the Prisma CLI would try to download.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import type { MigrationList, SchemaEngine } from '@prisma/schema-engine-wasm';

const require = createRequire(import.meta.url);

/** The slice of the WebAssembly API used here (the project's lib settings do not include the DOM types). */
const { WebAssembly: Wasm } = globalThis as unknown as {
  WebAssembly: { instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: Record<string, unknown> } }> };
};

type Glue = typeof import('@prisma/schema-engine-wasm/schema_engine_bg'); // eslint-disable-line @typescript-eslint/consistent-type-imports -- the module is loaded lazily
let glue: Promise<Glue> | undefined;

/** The package is built for bundlers (it imports the .wasm file); instantiate the module by hand. */
function loadGlue() {
  glue ??= (async () => {
    const mod = await import('@prisma/schema-engine-wasm/schema_engine_bg');
    const wasmPath = path.join(path.dirname(require.resolve('@prisma/schema-engine-wasm')), 'schema_engine_bg.wasm');
    const { instance } = await Wasm.instantiate(readFileSync(wasmPath), { './schema_engine_bg.js': mod });
    mod.__wbg_set_wasm(instance.exports as never);
    (instance.exports as { __wbindgen_start: () => void }).__wbindgen_start();
    return mod;
  })();
  return glue;
}

export const SCHEMA_PATH = path.resolve(import.meta.dirname, '../../prisma/schema.prisma');
export const MIGRATIONS_DIR = path.resolve(import.meta.dirname, '../../prisma/migrations');

export type Engine = { engine: SchemaEngine; close: () => Promise<void> };

/**
 * The engine describes a database through catalog queries that return PostgreSQL's one-byte "char"
 * type (OID 18), which the adapter does not map; report it as text. The adapter queries through
 * Pool.query and through clients it checks out, so both are covered.
 */
function charAsText<T>(result: T): T {
  for (const f of (result as { fields?: { dataTypeID: number }[] })?.fields ?? []) if (f.dataTypeID === 18) f.dataTypeID = 25;
  return result;
}

class CharAsTextClient extends pg.Client {
  override query(...args: unknown[]): never {
    const ret = (super.query as (...a: unknown[]) => unknown)(...args);
    return (ret instanceof Promise ? ret.then(charAsText) : ret) as never;
  }
}

class CharAsTextPool extends pg.Pool {
  override query(...args: unknown[]): never {
    const ret = (super.query as (...a: unknown[]) => unknown)(...args);
    return (ret instanceof Promise ? ret.then(charAsText) : ret) as never;
  }
}

/**
 * The adapter runs a migration script by splitting it on every `;`, which breaks function bodies
 * (the webhook outbox trigger). PostgreSQL's simple-query protocol runs a multi-statement script
 * as one implicit transaction, as `prisma migrate deploy` does: send it whole.
 */
class WholeScriptPg extends PrismaPg {
  override async connect() {
    const adapter = await super.connect();
    const queryable = adapter as unknown as { client: pg.Pool; onError(e: unknown): never };
    adapter.executeScript = async (script: string) => {
      try {
        await queryable.client.query(script);
      } catch (err) {
        queryable.onError(err);
      }
    };
    return adapter;
  }
}

export async function openSchemaEngine(databaseUrl: string, schemaText?: string, schemaPath = SCHEMA_PATH): Promise<Engine> {
  const { SchemaEngine } = await loadGlue();
  const pool = new CharAsTextPool({ connectionString: databaseUrl, Client: CharAsTextClient, max: 2 });
  const factory = bindMigrationAwareSqlAdapterFactory(new WholeScriptPg(pool));
  const datamodels: [string, string][] = [[schemaPath, schemaText ?? readFileSync(schemaPath, 'utf8')]];
  const engine = await SchemaEngine.new({ datamodels }, () => {}, factory);
  return {
    engine,
    close: async () => {
      engine.free();
      await pool.end();
    },
  };
}

/** Reads prisma/migrations/ into the engine's format (the same folder `prisma migrate` uses). */
export function readMigrations(dir = MIGRATIONS_DIR): MigrationList {
  const lockPath = path.join(dir, 'migration_lock.toml');
  const names = existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
        .sort()
    : [];
  return {
    baseDir: dir,
    lockfile: { path: 'migration_lock.toml', content: existsSync(lockPath) ? readFileSync(lockPath, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories: names.map((name) => ({
      path: name,
      migrationFile: {
        path: 'migration.sql',
        content: { tag: 'ok', value: readFileSync(path.join(dir, name, 'migration.sql'), 'utf8') },
      },
    })),
  };
}

export const NO_FILTERS = { externalTables: [], externalEnums: [] };
