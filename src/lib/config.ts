/**
 * Configuration, parsed once at boot from the environment. Every variable is documented in
 * .env.example and docs/configuration.md. Secrets have no defaults: in production they must be set; in
 * development, when unset, dev-secrets.ts generates them once into the data folder (with a warning).
 */
import path from 'node:path';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
/** One CSP source for frame-ancestors: nothing that could end the directive or add another. */
const FRAME_SOURCE = /^(?:'self'|'none'|https?:|(?:https?:\/\/)?(?:\*\.)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::(?:\d{1,5}|\*))?)$/;
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const EnvSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: int(0, 65535).default(9900),
    /** The URL clients and browsers use to reach Latchkey (OAuth callbacks, hosted pages). */
    PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
    DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
    DATABASE_POOL_SIZE: int(1, 200).default(10),
    LATCHKEY_DATA_DIR: z.string().min(1).default('.latchkey'),
    MIGRATE_ON_START: bool.default(true),
    /** Key for the HMAC of API keys: at least 32 bytes, base64 or hex. */
    LATCHKEY_HMAC_SECRET: z.string().min(32).optional(),
    /** Encryption keyring: `id:base64key[,id:base64key...]`, the first is active. Keys are 32 bytes. */
    LATCHKEY_ENCRYPTION_KEYS: z.string().min(1).optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    RATE_LIMIT_MAX: int(1, 1_000_000).default(1200),
    RATE_LIMIT_WINDOW_MS: int(1000, 3_600_000).default(60_000),
    BODY_LIMIT_BYTES: int(1024, 50 * 1024 * 1024).default(1024 * 1024),
    TRUST_PROXY: bool.default(false),
    SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(10_000),
    /** Allow plain-HTTP OAuth endpoints on loopback hosts (local or test authorization servers). */
    OAUTH_ALLOW_INSECURE_LOOPBACK: bool.default(false),
    /** Seconds per request to a provider's token or revocation endpoint. */
    OAUTH_TIMEOUT_SECONDS: int(1, 120).default(15),
    /** A token read within this many milliseconds of expiry is refreshed first. */
    OAUTH_REFRESH_MARGIN_MS: int(0, 3_600_000).default(120_000),
    /** The background job refreshes tokens expiring within this many milliseconds. */
    OAUTH_REFRESH_AHEAD_MS: int(60_000, 86_400_000).default(600_000),
    /** How many token refreshes the background job runs at once (each waits on a provider). */
    OAUTH_REFRESH_CONCURRENCY: int(1, 64).default(8),
    /** Origins allowed to embed the hosted Connect Link page in a frame (CSP frame-ancestors), e.g. https://app.example.com. */
    LINK_FRAME_ANCESTORS: z
      .string()
      .max(2000)
      .refine(
        (v) => v.split(/[\s,]+/).filter(Boolean).every((s) => FRAME_SOURCE.test(s)),
        "each entry must be an origin (https://app.example.com, https://*.example.com, http://localhost:3000), a scheme (https:), 'self' or 'none'",
      )
      .optional(),
    /** Let the hosted Connect Link page load the toolkit's and the project's logos from their own URLs (a third-party request). */
    LINK_ALLOW_REMOTE_LOGOS: bool.default(false),
    /**
     * Let every outgoing call to a URL a project gave (custom toolkits' OAuth endpoints, webhooks)
     * reach loopback, private and other internal addresses: on-premise providers, local receivers.
     */
    EGRESS_ALLOW_PRIVATE_ADDRESSES: bool.default(false),
    /** Allow webhook URLs on loopback and private addresses (local receivers, tests). */
    WEBHOOKS_ALLOW_PRIVATE_URLS: bool.default(false),
    /** Timeout of one webhook delivery attempt. */
    WEBHOOK_TIMEOUT_MS: int(500, 60_000).default(10_000),
    /** Consecutive failed attempts after which a subscription is disabled. */
    WEBHOOK_DISABLE_AFTER_FAILURES: int(1, 10_000).default(50),
    /** How long a rotated-out webhook secret keeps signing alongside the new one. */
    WEBHOOK_SECRET_GRACE_MS: int(0, 30 * 86_400_000).default(86_400_000),
    /** Provider proxy: one proxied request, connection to last byte (to the response headers when streaming, then between chunks). */
    PROXY_TIMEOUT_MS: int(500, 600_000).default(30_000),
    /** Provider proxy: largest request body sent to a provider. */
    PROXY_MAX_REQUEST_BYTES: int(1024, 100 * 1024 * 1024).default(10 * 1024 * 1024),
    /** Provider proxy: largest provider response passed back (buffered or streamed). */
    PROXY_MAX_RESPONSE_BYTES: int(1024, 1024 * 1024 * 1024).default(10 * 1024 * 1024),
    /** Provider proxy: calls per connected account per minute, so one busy user cannot use a project's whole quota. */
    PROXY_ACCOUNT_RATE_LIMIT: int(1, 1_000_000).default(300),
    /** Provider proxy: how long a binary response's download URL lives. */
    PROXY_FILE_TTL_SECONDS: int(10, 86_400).default(3600),
    /** Provider proxy: days the call records are kept. */
    PROXY_CALL_RETENTION_DAYS: int(1, 3650).default(30),
    /** Audit log: days records are kept; the maintenance job prunes older ones. */
    AUDIT_RETENTION_DAYS: int(1, 36_500).default(365),
    /** Audit log: how often the records of secret reads are written (in batches; a crash loses at most this much). */
    AUDIT_FLUSH_MS: int(50, 60_000).default(1000),
    /** Serve Prometheus metrics at GET /metrics. */
    METRICS_ENABLED: bool.default(false),
    /** When set, GET /metrics needs `Authorization: Bearer <token>`. */
    METRICS_TOKEN: z.string().min(16).max(200).optional(),
    /** OpenTelemetry: an OTLP/HTTP traces endpoint (e.g. http://collector:4318/v1/traces); tracing is off when unset. */
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
    /** Run the background jobs (pg-boss) in this process. */
    JOBS_ENABLED: bool.default(true),
    /** How long an API key lookup is cached in each process; a revocation reaches other replicas within it. */
    API_KEY_CACHE_MS: int(0, 300_000).default(5_000),
    /** Serve the operator console at /console (operators are made with `latchkey console-users add`). */
    CONSOLE_ENABLED: bool.default(false),
    /** A console session ends after this many minutes without a request. */
    CONSOLE_SESSION_IDLE_MINUTES: int(1, 24 * 60).default(30),
    /** A console session ends this many hours after sign-in, however active. */
    CONSOLE_SESSION_MAX_HOURS: int(1, 30 * 24).default(12),
    /** Console sign-in attempts (password or link) per client address per 15 minutes. */
    CONSOLE_SIGN_IN_ATTEMPTS: int(1, 10_000).default(10),
    /** How long a sign-in link printed by the CLI stays usable. */
    CONSOLE_SIGN_IN_LINK_MINUTES: int(1, 7 * 24 * 60).default(15),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === 'production') {
      for (const k of ['LATCHKEY_HMAC_SECRET', 'LATCHKEY_ENCRYPTION_KEYS', 'DATABASE_URL'] as const) {
        if (!env[k]) ctx.addIssue({ code: 'custom', path: [k], message: `${k} is required in production` });
      }
    }
  });

export type Env = z.infer<typeof EnvSchema>;

/** Every setting's value when it is not set: the schema's own defaults, read from the schema. */
export const SETTING_DEFAULTS: Readonly<Env> = Object.freeze(EnvSchema.parse({}));

export class ConfigError extends Error {}

/** App credentials the operator configured for a toolkit ("managed auth"). */
export type ManagedCredentials = { client_id: string; client_secret: string };

export type Config = Env & {
  publicUrl: string;
  dataDir: string;
  isProduction: boolean;
  /** Toolkit slug → app credentials, from LATCHKEY_MANAGED_<SLUG>_CLIENT_ID / _CLIENT_SECRET. */
  managedAuth: Map<string, ManagedCredentials>;
};

/**
 * A configuration given in part (tests, benchmarks, tools that build the app themselves) completed
 * with the schema's defaults, so that code reads one resolved value and never repeats a default.
 * A loaded Config passes through unchanged.
 */
export function withDefaults<C extends Partial<Config>>(partial: C): WithDefaults<C> {
  const given = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  return { ...SETTING_DEFAULTS, managedAuth: new Map<string, ManagedCredentials>(), ...given } as WithDefaults<C>;
}
type WithDefaults<C> = Omit<C, keyof Env | 'managedAuth'> & Env & Pick<Config, 'managedAuth'>;

const MANAGED_RE = /^LATCHKEY_MANAGED_([A-Z0-9_]{1,63})_CLIENT_ID$/;

export function parseManagedAuth(env: Record<string, string | undefined>): Map<string, ManagedCredentials> {
  const out = new Map<string, ManagedCredentials>();
  for (const [name, value] of Object.entries(env)) {
    const m = MANAGED_RE.exec(name);
    if (!m || !value) continue;
    const secret = env[`LATCHKEY_MANAGED_${m[1]}_CLIENT_SECRET`];
    if (!secret) throw new ConfigError(`${name} is set but LATCHKEY_MANAGED_${m[1]}_CLIENT_SECRET is not`);
    out.set(m[1]!.toLowerCase(), { client_id: value, client_secret: secret });
  }
  return out;
}


export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Treat empty strings as unset, as shells and .env files often produce them.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return {
    ...e,
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    dataDir: path.resolve(e.LATCHKEY_DATA_DIR),
    isProduction: e.NODE_ENV === 'production',
    managedAuth: parseManagedAuth(cleaned),
  };
}
