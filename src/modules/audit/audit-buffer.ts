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

export type AuditBufferOptions = {
  write: (records: AuditRecord[]) => Promise<void>;
  flushEveryMs: number;
  maxBatch?: number;
  maxPending?: number;
  /**
   * Batches written at once while there is a backlog, each on its own connection. When a list page
   * for a key that sees credentials queued 50 records, one writer at a time, each waiting for its
   * INSERT, fell behind list pages served at full speed (the backlog, and the memory it holds, grew
   * for as long as the load lasted). A page is one record now; reads by id at full speed still make
   * a backlog.
   */
  writers?: number;
  /**
   * Records waiting beyond which a read must wait for the log before it answers (backpressure):
   * secrets are not handed out faster than their reads can be recorded, and the queue's memory is
   * bounded. Without it, list pages at full speed queued 260,000 records (about 100 MB) in 24 s.
   */
  highWater?: number;
  onError?: (err: unknown, dropped: number) => void;
};

export function auditBuffer(o: AuditBufferOptions) {
  const maxBatch = o.maxBatch ?? 500;
  const maxPending = o.maxPending ?? 50_000;
  const writers = o.writers ?? 2;
  const highWater = o.highWater ?? 10_000;
  let pending: AuditRecord[] = [];
  /** Reads waiting for the queue to fall below highWater. */
  let blocked: (() => void)[] = [];
  let inFlight = 0;
  /** Records in the writes under way: with `pending`, what is held in memory and not yet written. */
  let inFlightRecords = 0;
  const unwritten = () => pending.length + inFlightRecords;
  /** Set when a write failed: nothing more is tried until the next flush (the timer's, or a caller's). */
  let stalled = false;
  let waiting: (() => void)[] = [];

  /** Resolves the flushes waiting for the buffer to be written (or for a failure to stop the writing). */
  function settle() {
    // Waiting reads go on once there is room, or once writing stopped (the database is away: the
    // records are kept up to maxPending, and holding reads back would not bring it back).
    if (blocked.length && (unwritten() < highWater || stalled)) {
      const go = blocked;
      blocked = [];
      for (const resolve of go) resolve();
    }
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
      inFlightRecords += batch.length;
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
          inFlightRecords -= batch.length;
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

  /** Nothing while there is room (no promise on the hot path); otherwise a wait for room. */
  function room(): Promise<void> | undefined {
    if (pending.length >= maxBatch) pump();
    if (unwritten() < highWater || stalled) return undefined;
    return new Promise<void>((resolve) => blocked.push(resolve));
  }

  return {
    /**
     * Queues the record of a read; its time is now, whenever it is written. When the queue is full
     * the caller gets a promise to await before answering.
     */
    push(entry: AuditEntry): Promise<void> | undefined {
      pending.push(resolveEntry(entry));
      return room();
    },
    flush,
    pendingCount: () => pending.length,
    async close() {
      clearInterval(timer);
      await flush();
      stalled = true; // nothing more will be written by this buffer: let any waiting read go
      settle();
    },
  };
}
export type AuditBuffer = ReturnType<typeof auditBuffer>;
