/**
 * Where the database is: DATABASE_URL when given (nothing is started); otherwise the embedded server
 * kept in <data dir>, attached to if another Latchkey process already runs it, started if not.
 */
import path from 'node:path';
import type { Config } from '../lib/config.js';
import { runningEmbeddedUrl, startEmbeddedPostgres } from './embedded.js';

export type DatabaseHandle = {
  url: string;
  /** True when this process started the embedded server (and must stop it). */
  embedded: boolean;
  stop: () => Promise<void>;
};

export async function openDatabase(
  config: Pick<Config, 'DATABASE_URL' | 'dataDir'>,
  log: (msg: string) => void,
): Promise<DatabaseHandle> {
  if (config.DATABASE_URL) return { url: config.DATABASE_URL, embedded: false, stop: async () => {} };
  const running = await runningEmbeddedUrl(config.dataDir);
  if (running) return { url: running, embedded: false, stop: async () => {} };
  log(`No DATABASE_URL: starting embedded PostgreSQL in ${path.join(config.dataDir, 'postgres')}`);
  const server = await startEmbeddedPostgres(config.dataDir, { persistent: true });
  return { url: server.url, embedded: true, stop: server.stop };
}
