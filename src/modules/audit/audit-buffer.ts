/**
 * Records of reads, written in batches off the request path: a read that handed out a secret
 * pushes its record here (no query on the read), and the buffer writes what it holds every
 * `flushEveryMs`, or at once when a batch is full, in multi-row INSERTs (up to `writers` at once).
 * Close flushes what is left (app.ts closes it on a clean shutdown). A crash loses at most what was pushed since the last
 * flush. While the database is unreachable records stay in memory, up to `maxPending`; beyond that
 * the oldest are dropped and counted in the log.
 */
import type { AuditEntry, AuditRecord } from './audit.repository.js';
import { resolveEntry } from './audit.repository.js';
import { currentActor } from './audit-context.js';

export type AuditBufferOptions = {
  write: (records: AuditRecord[]) => Promise<void>;
  flushEveryMs: number;
  maxBatch?: number;
  maxPending?: number;
  /**
   * Batches written at once while there is a backlog, each on its own connection. A list page for a
   * key that sees credentials queues 50 records: one writer at a time, each waiting for its INSERT,
   * fell behind list pages served at full speed (the backlog, and the memory it holds, grew for as
   * long as the load lasted).
   */
  writers?: number;
  onError?: (err: unknown, dropped: number) => void;
};

export function auditBuffer(o: AuditBufferOptions) {
  const maxBatch = o.maxBatch ?? 500;
  const maxPending = o.maxPending ?? 50_000;
  const writers = o.writers ?? 2;
  let pending: AuditRecord[] = [];
  let inFlight = 0;
  /** Set when a write failed: nothing more is tried until the next flush (the timer's, or a caller's). */
  let stalled = false;
  let waiting: (() => void)[] = [];

  /** Resolves the flushes waiting for the buffer to be written (or for a failure to stop the writing). */
  function settle() {
    if (inFlight > 0 || (pending.length > 0 && !stalled)) return;
    const done = waiting;
    waiting = [];
    for (const resolve of done) resolve();
  }

  /** Starts writes, up to `writers` at once, while records wait and nothing has failed. */
  function pump() {
    while (!stalled && inFlight < writers && pending.length) {
      const batch = pending.splice(0, maxBatch);
      inFlight++;
      o.write(batch)
        .catch((err: unknown) => {
          stalled = true;
          // Back in front of what came since, bounded: while the database is away the oldest go.
          pending = batch.concat(pending);
          const dropped = Math.max(0, pending.length - maxPending);
          if (dropped) pending = pending.slice(dropped);
          o.onError?.(err, dropped);
        })
        .finally(() => {
          inFlight--;
          pump();
          settle();
        });
    }
    settle();
  }

  /** Writes everything pending; resolves when it is written, or when a write failed (records kept). */
  function flush(): Promise<void> {
    stalled = false;
    return new Promise<void>((resolve) => {
      waiting.push(resolve);
      pump();
    });
  }

  const timer = setInterval(() => void flush(), o.flushEveryMs);
  timer.unref();

  return {
    /** Queues the record of a read; its time is now, whenever it is written. */
    push(entry: AuditEntry) {
      pending.push(resolveEntry(entry));
      if (pending.length >= maxBatch) pump();
    },
    /** Queues the records of reads made together (a list page): one time and one actor for all. */
    pushAll(entries: AuditEntry[]) {
      if (!entries.length) return;
      const at = new Date();
      const who = currentActor();
      for (const e of entries) pending.push(resolveEntry(e, at, who));
      if (pending.length >= maxBatch) pump();
    },
    flush,
    pendingCount: () => pending.length,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
export type AuditBuffer = ReturnType<typeof auditBuffer>;
