/**
 * The ceiling: the least a server can do for "read one connected account by id" on this stack —
 * bare Fastify 5 (no hooks, no schemas, no logger) and a `pg` Pool of 10 doing one primary-key
 * SELECT and returning the row as JSON. Latchkey's endpoints are compared with it.
 *
 * The same server also offers a write reference: POST /connected_accounts seals the body's val
 * and INSERTs one row (one statement, autocommit) into a copy of connected_accounts with its
 * columns, defaults and indexes but no trigger (a bare insert), answering with its id. It is not a goal, only
 * context for the create number: what a single durable insert costs on this machine and disk.
 */
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import pg from 'pg';
import type { Crypto } from '../src/lib/crypto.js';
import { newId, newWordId } from '../src/lib/ids.js';

export type Ceiling = { url: string; path: (id: string) => string; createPath: string; close: () => Promise<void> };

type CreateBody = { auth_config: { id: string }; connection: { user_id: string; state: { authScheme: string; val: Record<string, unknown> } } };

export async function startCeiling(
  databaseUrl: string,
  o: { projectId: string; crypto: Pick<Crypto, 'seal'>; /** where the write reference inserts (a trigger-less copy of connected_accounts) */ insertInto: string },
): Promise<Ceiling> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
  pool.on('error', () => {}); // an idle client's connection dropped: the next query reconnects
  const app = Fastify({ logger: false });
  app.get<{ Params: { id: string } }>('/connected_accounts/:id', async (req, reply) => {
    const { rows } = await pool.query('SELECT * FROM connected_accounts WHERE id = $1', [req.params.id]);
    if (!rows[0]) return reply.code(404).send({ error: 'not found' });
    return rows[0];
  });
  app.post<{ Body: CreateBody }>('/connected_accounts', async (req, reply) => {
    const { auth_config, connection } = req.body;
    const id = newId('connectedAccount');
    const state = o.crypto.seal(JSON.stringify(connection.state.val), `connected_account:${o.projectId}/${id}`);
    await pool.query(
      `INSERT INTO ${o.insertInto} (id, project_id, auth_config_id, toolkit_slug, user_id, auth_scheme, status, state, secret_keys, word_id, updated_at)
       VALUES ($1, $2, $3, 'linear', $4, $5, 'ACTIVE', $6, ARRAY['api_key'], $7, now())`,
      [id, o.projectId, auth_config.id, connection.user_id, connection.state.authScheme, state, newWordId('linear')],
    );
    return reply.code(201).send({ id, status: 'ACTIVE' });
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    path: (id) => `/connected_accounts/${id}`,
    createPath: '/connected_accounts',
    close: async () => {
      await app.close();
      await pool.end();
    },
  };
}
