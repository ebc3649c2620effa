/**
 * A private embedded PostgreSQL for tests that stop the database under a running Latchkey and bring
 * it back: its own cluster in a temporary folder, on a free port that it keeps across restarts, so
 * its URL stays the same and clients reconnect where they expect it.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type EmbeddedServer, startEmbeddedPostgres } from '../../src/db/embedded.js';

export type PrivatePostgres = {
  /** Connection URL; the same after a restart (same port, password and data). */
  url: string;
  /** The temporary folder holding the cluster; tests put their other files here (LATCHKEY_DATA_DIR). */
  dir: string;
  stop: () => Promise<void>;
  /** Stops it if running, then starts it again on the same port and data. */
  restart: () => Promise<void>;
  /** Stops it if running and removes its folder. */
  destroy: () => Promise<void>;
};

export async function startPrivatePostgres(name: string): Promise<PrivatePostgres> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `latchkey-${name}-`));
  chmodSync(dir, 0o755); // as root, PostgreSQL runs as `postgres`, which must reach the cluster below
  const clusterDir = path.join(dir, 'pg');
  let server: EmbeddedServer | undefined;
  try {
    server = await startEmbeddedPostgres(clusterDir, { persistent: true });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const url = server.url;
  const port = Number(new URL(url).port);
  const stop = async () => {
    const running = server;
    server = undefined;
    await running?.stop();
  };
  return {
    url,
    dir,
    stop,
    restart: async () => {
      await stop();
      server = await startEmbeddedPostgres(clusterDir, { persistent: true, port });
    },
    destroy: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
