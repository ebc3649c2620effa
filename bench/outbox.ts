/**
 * The webhook outbox under load: how fast the real dispatcher drains a backlog made by real state
 * changes (the trigger writes the events), with no subscriber and with one loopback subscriber, and
 * how long a state change takes to reach a receiver while creates keep coming (pg-boss running the
 * dispatch loop exactly as the server does).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import type { WebhookDispatcher } from '../src/modules/webhooks/dispatcher.js';

export type Receiver = { url: string; received: number; delaysMs: number[]; close: () => Promise<void> };

/** A loopback receiver answering 204; it records each event's delay from its envelope's timestamp. */
export async function startReceiver(): Promise<Receiver> {
  const r: Receiver = { url: '', received: 0, delaysMs: [], close: async () => {} };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      r.received++;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { timestamp: string };
        r.delaysMs.push(Date.now() - Date.parse(body.timestamp));
      } catch {
        // not an envelope: counted, no delay
      }
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  r.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return r;
}

const pendingEvents = async (pool: pg.Pool) =>
  Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM webhook_events WHERE dispatched_at IS NULL')).rows[0]!.n);
const pendingDeliveries = async (pool: pg.Pool) =>
  Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM webhook_deliveries WHERE status = 'PENDING'`)).rows[0]!.n);

/**
 * A backlog of about `events` events from real state changes: accounts are disabled, then enabled
 * again (two events each, written by the trigger), in statements of 5,000 accounts.
 */
export async function makeBacklog(pool: pg.Pool, ids: string[], events: number) {
  const accounts = ids.slice(0, Math.ceil(events / 2));
  for (let i = 0; i < accounts.length; i += 5_000) {
    const chunk = accounts.slice(i, i + 5_000);
    await pool.query(`UPDATE connected_accounts SET status = 'INACTIVE', updated_at = now() WHERE id = ANY($1) AND status = 'ACTIVE'`, [chunk]);
    await pool.query(`UPDATE connected_accounts SET status = 'ACTIVE', updated_at = now() WHERE id = ANY($1) AND status = 'INACTIVE'`, [chunk]);
  }
  return pendingEvents(pool);
}

/**
 * Runs the dispatcher until no event is pending and no delivery is; events per second. At the
 * deadline it stops and reports the rate of what it did drain (`complete: false`), so one slow
 * measurement does not cost the whole run.
 */
export async function drain(pool: pg.Pool, dispatcher: WebhookDispatcher, o: { deadlineMs: number }) {
  const events = await pendingEvents(pool);
  const t0 = performance.now();
  for (;;) {
    const r = await dispatcher.runOnce();
    if (!r.fannedOut && !r.delivered && !(await pendingEvents(pool)) && !(await pendingDeliveries(pool))) break;
    if (performance.now() - t0 > o.deadlineMs) {
      const s = (performance.now() - t0) / 1000;
      const left = (await pendingEvents(pool)) + (await pendingDeliveries(pool));
      return { events, seconds: s, perSecond: Math.max(0, events - left) / s, complete: false };
    }
  }
  const s = (performance.now() - t0) / 1000;
  return { events, seconds: s, perSecond: events / s, complete: true };
}

export { pendingEvents, pendingDeliveries };
