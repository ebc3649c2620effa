/**
 * Records of reads, written in batches off the request path: a read that handed out a secret
 * pushes its record here (no query on the read), and the buffer writes what it holds every
 * `flushEveryMs`, or at once when a batch is full, in one multi-row INSERT. Close flushes what is
 * left (app.ts closes it on a clean shutdown). A crash loses at most what was pushed since the last
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
  onError?: (err: unknown, dropped: number) => void;
};

export function auditBuffer(o: AuditBufferOptions) {
  const maxBatch = o.maxBatch ?? 500;
  const maxPending = o.maxPending ?? 50_000;
  let pending: AuditRecord[] = [];
  let running: Promise<void> | null = null;

  async function drain() {
    while (pending.length) {
      const batch = pending.slice(0, maxBatch);
      try {
        await o.write(batch);
        pending = pending.slice(batch.length);
      } catch (err) {
        const dropped = Math.max(0, pending.length - maxPending);
        if (dropped) pending = pending.slice(dropped);
        o.onError?.(err, dropped);
        return;
      }
    }
  }

  /** Writes everything pending (one writer at a time; a second caller waits for the same run). */
  function flush(): Promise<void> {
    if (!running) running = drain().finally(() => (running = null));
    return running;
  }

  const timer = setInterval(() => void flush(), o.flushEveryMs);
  timer.unref();

  return {
    /** Queues the record of a read; its time is now, whenever it is written. */
    push(entry: AuditEntry) {
      pending.push(resolveEntry(entry));
      if (pending.length >= maxBatch && !running) void flush();
    },
    /** Queues the records of reads made together (a list page): one time and one actor for all. */
    pushAll(entries: AuditEntry[]) {
      if (!entries.length) return;
      const at = new Date();
      const who = currentActor();
      for (const e of entries) pending.push(resolveEntry(e, at, who));
      if (pending.length >= maxBatch && !running) void flush();
    },
    flush,
    pendingCount: () => pending.length,
    async close() {
      clearInterval(timer);
      await running;
      await flush();
    },
  };
}
export type AuditBuffer = ReturnType<typeof auditBuffer>;
