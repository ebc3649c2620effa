/**
 * Who is acting, for the audit records written while they act. The request's API key (set by
 * app.ts for every request once authenticated), an operator (the CLI, the console), or `system`
 * (background jobs) when nobody is. Carried in AsyncLocalStorage so that services record the actor
 * without every call passing it down; a record can still name its actor explicitly.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export type AuditActor = {
  /** `key_…`, `operator:<name>`, `end_user` (public pages) or `system`. */
  actor: string;
  requestId?: string;
};

const storage = new AsyncLocalStorage<AuditActor>();

/** Runs `fn` (and everything it starts) as `who`. */
export function actingAs<T>(who: AuditActor, fn: () => T): T {
  return storage.run(who, fn);
}

/** The actor of the code running now; `system` outside any request or operator command. */
export function currentActor(): AuditActor {
  return storage.getStore() ?? { actor: 'system' };
}

/** The actor string of an operator (CLI user, console user). */
export const operator = (name: string) => `operator:${name}`.slice(0, 120);
