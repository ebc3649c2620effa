/**
 * Delivers the outbox. One run: fan new events out to the subscriptions that want them (building the
 * V3 envelope once), then claim due deliveries and POST them, signed, each with its own timeout and
 * all concurrently, so a slow receiver delays only its own deliveries.
 * - Any 2xx succeeds. 429, 5xx, timeouts and connection errors retry with exponential backoff and
 *   jitter for RETRY_WINDOW_MS (over 24 hours); other 4xx are final.
 * - After WEBHOOK_DISABLE_AFTER_FAILURES consecutive failed attempts a subscription is disabled, and
 *   that is an event of its own (composio.webhook_subscription.disabled).
 * - At least once: a worker that dies mid-delivery loses its lease, and the delivery runs again.
 */
import { type Crypto, DecryptError } from '../../lib/crypto.js';
import { newOrderedId } from '../../lib/ids.js';
import { type Egress, EgressRefusedError } from '../egress/egress.js';
import type { AccountRow } from '../connected-accounts/connected-accounts.repository.js';
import type { AccountObject } from '../connected-accounts/connected-accounts.schemas.js';
import { signedHeaders } from './signing.js';
import type { AttemptOutcome, ClaimedDelivery, NewDelivery, PendingEvent, WebhooksRepository } from './webhooks.repository.js';
import { associatedData } from '../../lib/sealed.js';

export const RETRY_WINDOW_MS = 26 * 3600_000;
export const SUBSCRIPTION_DISABLED = 'composio.webhook_subscription.disabled';
/**
 * `metadata.org_id` of every event. Composio has organisations above projects; a Latchkey
 * installation is one organisation, so every event carries this one fixed id (Composio's SDK
 * requires the field in its event schemas).
 */
export const ORGANIZATION_ID = 'org_latchkey';
/** How long delivered events and their delivery logs are kept. */
export const EVENT_RETENTION_MS = 7 * 86_400_000;
/** Events per fan-out batch: one lock, four statements (bench/README.md has the measurement). */
export const FAN_OUT_BATCH = 1000;
/** Fan-out batches one pass may make. */
const FAN_OUT_BATCHES_PER_RUN = 10;
/**
 * After a batch that was not full, the fan-out waits this long before it looks again: an event waits
 * at most this much longer, and a light stream is fanned out a few events per batch (a batch is
 * six round trips with the lock), not one.
 */
const FAN_OUT_PAUSE_MS = 25;
/**
 * Deliveries claimed (and sent concurrently) at a time. 250 rather than 100: under a steady stream
 * of creates the delay from change to receiver fell from p50 0.9-1.5 s / p99 1.5-2.2 s to p50
 * 0.35-0.67 s / p99 0.74-1.28 s (bench/README.md); 500 was no better than 100.
 */
export const DELIVERY_BATCH = 250;
/**
 * Delivery batches one pass may send. A fan-out batch can create up to FAN_OUT_BATCH deliveries (more
 * with several subscriptions); a pass that then sent only one batch of 100 fell behind under a steady
 * stream of creates (deliveries piled up: p99 9 s from state change to receiver).
 */
const DELIVERY_BATCHES_PER_RUN = 8;

export type DispatcherSettings = { disableAfter: number };
type Opener = (sealed: string, aad: string) => string;

/** Backoff before attempt n+1: 10 s doubling to at most 2 h, with ±25% jitter. */
export function backoffMs(attempts: number) {
  return Math.min(2 * 3600_000, 10_000 * 2 ** Math.max(0, attempts - 1)) * (0.75 + Math.random() / 2);
}

function snapshotRow(s: Record<string, unknown>, cfg: { isComposioManaged: boolean; status: string }): AccountRow {
  const date = (v: unknown) => (v ? new Date(String(v)) : null);
  return {
    id: String(s.id),
    projectId: String(s.project_id),
    authConfigId: String(s.auth_config_id),
    toolkitSlug: String(s.toolkit_slug),
    userId: String(s.user_id),
    authScheme: String(s.auth_scheme),
    status: String(s.status),
    statusReason: (s.status_reason as string | null) ?? null,
    state: String(s.state),
    secretKeys: (s.secret_keys as string[]) ?? [],
    alias: (s.alias as string | null) ?? null,
    wordId: String(s.word_id),
    callbackUrl: (s.callback_url as string | null) ?? null,
    accountType: String(s.account_type),
    labels: (s.labels as string[] | null) ?? [],
    aclAllowAllUsers: s.acl_allow_all_users === true,
    aclAllowedUserIds: (s.acl_allowed_user_ids as string[] | null) ?? [],
    aclNotAllowedUserIds: (s.acl_not_allowed_user_ids as string[] | null) ?? [],
    tokenExpiresAt: date(s.token_expires_at),
    refreshLeaseUntil: null,
    refreshFailures: Number(s.refresh_failures ?? 0),
    nextRefreshAt: null,
    activatedAt: date(s.activated_at),
    createdAt: date(s.created_at)!,
    updatedAt: date(s.updated_at)!,
    deletedAt: date(s.deleted_at),
    authConfig: { ...cfg, deletedAt: null },
  };
}

export function webhookDispatcher(deps: {
  repo: WebhooksRepository;
  crypto: Pick<Crypto, 'open'>;
  maskedView: (row: AccountRow) => AccountObject;
  authConfigState: (projectId: string, id: string) => Promise<{ isComposioManaged: boolean; status: string } | null>;
  /** The egress guard for webhook receivers (its policy and timeout come from the webhook settings). */
  egress: Pick<Egress, 'fetch'>;
  settings: DispatcherSettings;
  log?: (msg: string, extra?: object) => void;
  /** Told each attempt's outcome once it is recorded (metrics). */
  onAttempt?: (outcome: 'SUCCEEDED' | 'PENDING' | 'FAILED') => void;
}) {
  const { repo, crypto, settings } = deps;
  const secretAad = (projectId: string, id: string) => associatedData('webhookSecret', projectId, id);

  async function envelope(
    e: { id: string; type: string; projectId: string; createdAt: Date; snapshot: unknown },
    authConfigState: (projectId: string, id: string) => Promise<{ isComposioManaged: boolean; status: string } | null>,
  ) {
    let data: unknown = e.snapshot;
    if (e.type.startsWith('composio.connected_account.')) {
      const s = e.snapshot as Record<string, unknown>;
      const cfg = (await authConfigState(e.projectId, String(s.auth_config_id))) ?? { isComposioManaged: false, status: 'ENABLED' };
      try {
        data = deps.maskedView(snapshotRow(s, cfg));
      } catch {
        data = { id: s.id, status: s.status }; // a row that cannot be opened: say what we can
      }
    }
    return JSON.stringify({ id: e.id, timestamp: e.createdAt.toISOString(), type: e.type, data, metadata: { project_id: e.projectId, org_id: ORGANIZATION_ID } });
  }

  /**
   * Fans out one batch of pending events, oldest first: one query for the batch, one for the
   * subscriptions of its projects, one for the snapshots of the events someone subscribed to, and
   * one statement marking the batch and creating its deliveries. An event nobody subscribed to is
   * only marked. Returns how many deliveries it created (0 too when another worker holds the batch).
   */
  async function fanOut(batch = FAN_OUT_BATCH) {
    return (await fanOutBatch(batch)).deliveries;
  }

  async function fanOutBatch(batch: number): Promise<{ events: number; deliveries: number }> {
    const done = await repo.withFanOutLock(async (q) => {
      const events = await repo.pendingEvents(q, batch);
      if (!events.length) return { events: 0, deliveries: 0 };
      const subs = await repo.liveSubscriptionsOf(q, [...new Set(events.map((e) => e.project_id))]);
      const wantedBy = (e: PendingEvent) => subs.filter((s) => s.project_id === e.project_id && s.enabled_events.includes(e.type));
      const wanted = new Map(events.map((e) => [e.id, wantedBy(e)] as const));
      const snapshots = await repo.snapshots(q, events.filter((e) => wanted.get(e.id)!.length).map((e) => e.id));
      // The auth config's flags are read once per batch and config, not once per event.
      const configs = new Map<string, ReturnType<typeof deps.authConfigState>>();
      const authConfigState = (projectId: string, id: string) => {
        const key = `${projectId}/${id}`;
        if (!configs.has(key)) configs.set(key, deps.authConfigState(projectId, id));
        return configs.get(key)!;
      };
      const marks: { id: string; body: string | null }[] = [];
      const deliveries: NewDelivery[] = [];
      for (const e of events) {
        const to = wanted.get(e.id)!;
        if (!to.length) {
          marks.push({ id: e.id, body: null });
          continue;
        }
        const body = await envelope({ id: e.id, type: e.type, projectId: e.project_id, createdAt: e.created_at, snapshot: snapshots.get(e.id) }, authConfigState);
        marks.push({ id: e.id, body });
        for (const s of to) {
          deliveries.push({ id: newOrderedId('webhookDelivery'), projectId: e.project_id, subscriptionId: s.id, eventId: e.id, eventSeq: e.seq, accountId: e.account_id });
        }
      }
      return { events: events.length, deliveries: await repo.markFannedOut(q, marks, deliveries) };
    });
    return done ?? { events: 0, deliveries: 0 };
  }

  /**
   * The secrets that sign a delivery: the current one, and the previous one during its grace period.
   * A current secret that does not open is a DecryptError (the delivery fails, finally); a previous
   * one that does not open only stops co-signing.
   */
  function signingSecrets(d: ClaimedDelivery, now: Date, open: Opener) {
    const secrets = [open(d.secret, secretAad(d.project_id, d.subscription_id))];
    if (d.previous_secret && d.previous_secret_until && d.previous_secret_until > now) {
      try {
        secrets.push(open(d.previous_secret, associatedData('webhookPreviousSecret', d.project_id, d.subscription_id)));
      } catch (err) {
        if (!(err instanceof DecryptError)) throw err;
        deps.log?.('previous webhook signing secret unreadable; signing with the current one only', { subscription: d.subscription_id });
      }
    }
    return secrets;
  }

  /**
   * Opens sealed secrets once per claimed batch: its deliveries mostly share a few subscriptions,
   * and opening (AES-GCM set-up) was 5% of a delivery's CPU when done per attempt. A failure is
   * remembered too, so every delivery of that subscription fails the same way. Nothing outlives the batch.
   */
  function batchOpener(): Opener {
    const opened = new Map<string, { value: string } | { error: unknown }>();
    return (sealed, aad) => {
      const key = `${aad}\n${sealed}`;
      let r = opened.get(key);
      if (!r) {
        try {
          r = { value: crypto.open(sealed, aad) };
        } catch (error) {
          r = { error };
        }
        opened.set(key, r);
      }
      if ('error' in r) throw r.error;
      return r.value;
    };
  }

  async function attempt(d: ClaimedDelivery, open: Opener) {
    const started = new Date();
    let statusCode: number | null = null;
    let error: string | null = null;
    let retry = false;
    try {
      const headers = signedHeaders({ id: d.event_id, body: d.body, secrets: signingSecrets(d, started, open), now: started, version: d.version });
      // Through the egress guard: the receiver's address is checked as it is connected to, the
      // attempt is bounded by WEBHOOK_TIMEOUT_MS, and a redirect is a final failure (HTTP 3xx).
      statusCode = (await deps.egress.fetch(d.url, { method: 'POST', headers, body: d.body })).status;
      retry = statusCode === 429 || statusCode >= 500;
      if (statusCode < 200 || statusCode >= 300) error = `HTTP ${statusCode}`;
    } catch (err) {
      if (err instanceof DecryptError) {
        // Final: waiting will not make the secret readable; the operator must restore the key it was sealed with.
        error = 'signing secret unreadable';
      } else if (err instanceof EgressRefusedError) {
        error = err.message; // final: the address will not become public by waiting
      } else {
        error = (err as Error)?.name === 'TimeoutError' ? 'timed out' : 'connection failed';
        retry = true;
      }
    }
    const ok = error === null;
    const expired = Date.now() - d.created_at.getTime() > RETRY_WINDOW_MS;
    const next = ok
      ? { status: 'SUCCEEDED' as const, statusCode, error }
      : retry && !expired
        ? { status: 'PENDING' as const, nextAttemptAt: new Date(Date.now() + backoffMs(d.attempts + 1)), statusCode, error }
        : { status: 'FAILED' as const, statusCode, error };
    await recorder.record({
      delivery: d,
      attempt: { id: newOrderedId('webhookAttempt'), startedAt: started, durationMs: Date.now() - started.getTime() },
      next,
    });
    deps.onAttempt?.(next.status);
    if (!ok) deps.log?.('webhook delivery failed', { delivery: d.id, error, will_retry: next.status === 'PENDING' });
  }

  /**
   * Outcomes are recorded in group commits: while one batch is being written, the attempts that
   * finish queue up and go in the next one. Under load that is one transaction for many attempts;
   * a lone attempt (or a slow receiver's) is still recorded as soon as it finishes.
   */
  const recorder = (() => {
    let queue: { outcome: AttemptOutcome; done: (err?: unknown) => void }[] = [];
    let flushing = false;
    async function flush() {
      flushing = true;
      while (queue.length) {
        const batch = queue;
        queue = [];
        try {
          await repo.recordAttempts(
            batch.map((b) => b.outcome),
            {
              disableAfter: settings.disableAfter,
              disabledEvent: { type: SUBSCRIPTION_DISABLED, reason: `Disabled after ${settings.disableAfter} consecutive failed deliveries` },
            },
          );
          for (const b of batch) b.done();
        } catch (err) {
          for (const b of batch) b.done(err);
        }
      }
      flushing = false;
    }
    return {
      record: (outcome: AttemptOutcome) =>
        new Promise<void>((resolve, reject) => {
          queue.push({ outcome, done: (err) => (err === undefined ? resolve() : reject(err as Error)) });
          if (!flushing) void flush();
        }),
    };
  })();

  async function deliverDue(limit = DELIVERY_BATCH) {
    const claimed = await repo.claimDue(limit);
    const open = batchOpener();
    await Promise.all(claimed.map((d) => attempt(d, open)));
    return claimed.length;
  }

  return {
    fanOut,
    deliverDue,
    /** Drops delivered events (and their deliveries and attempts) older than the retention. */
    prune: (retentionMs = EVENT_RETENTION_MS, batch?: number) => repo.prune(new Date(Date.now() - retentionMs), batch),
    /**
     * One pass: fan-out and delivery run side by side. The fan-out looks for new events again as soon
     * as it has committed a batch (after FAN_OUT_PAUSE_MS when the batch was not full, so that a
     * light stream still comes in batches); the deliverer claims whenever the fan-out has committed
     * deliveries since its last claim, or at once after a full batch. (Fanning out, then delivering,
     * then fanning out again put a whole fan-out and a whole delivery batch into the delay of every
     * event that arrived meanwhile.) The pass ends when the fan-out finds nothing new, or at a
     * bound. Order per account holds as with several workers: the claim sees only committed
     * deliveries, and fan-outs commit in event order.
     */
    async runOnce() {
      const fanned = signal();
      let fanDone = false;
      let deliverDone = false;
      // Deliveries the fan-out committed since the deliverer's last claim began. A claim that began
      // before such a commit may not have seen it, even when it returns after the fan-out has ended.
      let committedSinceClaim = false;
      const fan = async () => {
        let n = 0;
        try {
          for (let batches = 1; ; batches++) {
            const r = await fanOutBatch(FAN_OUT_BATCH);
            n += r.deliveries;
            if (r.deliveries) {
              committedSinceClaim = true;
              fanned.fire();
            }
            if (!r.events || batches >= FAN_OUT_BATCHES_PER_RUN || deliverDone) break;
            if (r.events < FAN_OUT_BATCH) await new Promise((resolve) => setTimeout(resolve, FAN_OUT_PAUSE_MS));
          }
          return n;
        } finally {
          fanDone = true;
          fanned.fire();
        }
      };
      const deliver = async () => {
        let n = 0;
        try {
          for (let batches = 1; ; batches++) {
            committedSinceClaim = false;
            const claimed = await deliverDue();
            n += claimed;
            if (batches >= DELIVERY_BATCHES_PER_RUN) break;
            if (claimed === DELIVERY_BATCH || committedSinceClaim) continue;
            if (fanDone) break;
            await fanned.wait(); // the fan-out's next batch (or its end)
          }
          return n;
        } finally {
          deliverDone = true;
        }
      };
      // Whatever is left when a bound ends the pass is for the next pass, which follows at once
      // (the job loop passes again without pausing while a pass did anything).
      const [fannedOut, sent] = await Promise.all([fan(), deliver()]);
      return { fannedOut, delivered: sent };
    },
  };
}

/**
 * A level-triggered wake-up from the fan-out to the deliverer: fire() is remembered until the next
 * wait(), so a wake-up sent while the deliverer was busy is not lost.
 */
function signal() {
  let fired = false;
  let wake: (() => void) | null = null;
  return {
    fire() {
      fired = true;
      wake?.();
      wake = null;
    },
    async wait() {
      if (!fired) await new Promise<void>((resolve) => (wake = resolve));
      fired = false;
    },
  };
}

export type WebhookDispatcher = ReturnType<typeof webhookDispatcher>;
