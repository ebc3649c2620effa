/**
 * The one place database driver errors become domain errors. Errors reach here in three shapes:
 * - Prisma's known request errors (`P1001`, `P2002`, …), which, with the pg driver adapter, carry the
 *   adapter's error in `meta.driverAdapterError.cause` (`kind`, and for server errors the SQLSTATE);
 * - the adapter's own `DriverAdapterError` (its `cause` is the same mapped error);
 * - `pg`'s errors from the hand-written queries: a `DatabaseError` with a SQLSTATE `code`, or a Node
 *   socket error (`ECONNREFUSED`, …) or pg's "Connection terminated" when the server went away.
 * Services never see any of these codes: the error handler asks `translateDbError` and answers with
 * the AppError it returns (503 while the database is unreachable, 400 for values PostgreSQL cannot
 * store, 409/404 for the constraint and not-found cases), or a 500 for anything it does not know.
 */
import { AppError } from '../lib/errors.js';

/** Seconds a client is told to wait before retrying while the database is unreachable. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** Socket-level failures: the server is down, restarting, or the network dropped the connection. */
const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** Prisma's codes for "cannot reach / lost / timed out talking to the server". */
const PRISMA_UNAVAILABLE = new Set(['P1001', 'P1002', 'P1017', 'P2024']);

/** The adapter's kinds for the same. */
const ADAPTER_UNAVAILABLE = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections', 'TlsConnectionError']);

/**
 * SQLSTATEs meaning the server cannot serve us right now: class 08 (connection exception), 57P01–57P03
 * (admin/crash shutdown, cannot connect now) and 53300 (too many connections).
 */
function isUnavailableSqlState(code: string) {
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300';
}

/**
 * SQLSTATEs for a value PostgreSQL refuses to store or parse: 22021 (NUL or bad UTF-8 in text), 22P05
 * (`\u0000` in jsonb), 22P02 (invalid text representation), 22001 (too long), 22003 (out of range),
 * 22007/22008 (dates), 2202E (array subscript), 22023 (invalid parameter), 22P03 (binary format).
 * The request schemas refuse such values first; this is the backstop, so they are still a 400.
 */
const INVALID_INPUT_SQLSTATES = new Set(['22021', '22P05', '22P02', '22001', '22003', '22007', '22008', '2202E', '22023', '22P03', '22025', '22019']);

/** Pieces of the error worth reading, from whichever of the shapes above it has. */
function facts(err: unknown): { prismaCode?: string; kind?: string; sqlState?: string; errno?: string; message: string } {
  const e = err as { code?: unknown; meta?: { driverAdapterError?: { cause?: unknown } }; cause?: unknown; message?: unknown; name?: unknown };
  const message = typeof e?.message === 'string' ? e.message : '';
  const code = typeof e?.code === 'string' ? e.code : undefined;
  // Prisma errors carry the adapter's error; the adapter's error carries the mapped cause.
  const adapterCause = (e?.meta?.driverAdapterError?.cause ?? (e?.name === 'DriverAdapterError' ? e.cause : undefined)) as
    | { kind?: string; code?: unknown; originalCode?: unknown }
    | undefined;
  const kind = typeof adapterCause?.kind === 'string' ? adapterCause.kind : undefined;
  const adapterState = [adapterCause?.originalCode, adapterCause?.code].find((c): c is string => typeof c === 'string' && /^[0-9A-Z]{5}$/.test(c));
  if (code && /^P\d{4}$/.test(code)) return { prismaCode: code, kind, sqlState: adapterState, message };
  if (kind) return { kind, sqlState: adapterState, message };
  if (code && /^[0-9A-Z]{5}$/.test(code) && (err as { severity?: unknown }).severity !== undefined) return { sqlState: code, message };
  if (code && /^E[A-Z_]+$/.test(code)) return { errno: code, message };
  // AggregateError (several addresses refused) keeps the errno on its members.
  const inner = (err as { errors?: unknown[] })?.errors?.[0] as { code?: unknown } | undefined;
  if (typeof inner?.code === 'string' && /^E[A-Z_]+$/.test(inner.code)) return { errno: inner.code, message };
  return { message };
}

/** pg's own messages when its connection or pool gives up (no code attached). */
const PG_CONNECTION_MESSAGES = [
  /^Connection terminated/,
  /Client has encountered a connection error and is not queryable/,
  /^timeout exceeded when trying to connect/,
  /^Connection terminated due to connection timeout/,
  /^the database system is (starting up|shutting down|in recovery mode)/,
];

/** True when the error means the database cannot be reached right now (worth retrying later). */
export function isDatabaseUnavailable(err: unknown): boolean {
  const f = facts(err);
  if (f.prismaCode && PRISMA_UNAVAILABLE.has(f.prismaCode)) return true;
  if (f.kind && ADAPTER_UNAVAILABLE.has(f.kind)) return true;
  if (f.sqlState && isUnavailableSqlState(f.sqlState)) return true;
  if (f.errno && CONNECTION_ERRNOS.has(f.errno)) return true;
  // The adapter reports pg's connection errors without a kind of their own ("GenericJs") or through
  // a raw query (P2010): the message is then all there is.
  return PG_CONNECTION_MESSAGES.some((re) => re.test(f.message)) || /Can't reach database server|Connection terminated/.test(f.message);
}

export function databaseUnavailable(): AppError {
  return new AppError('Database_Unavailable', 'The database is unavailable; retry shortly', {
    headers: { 'retry-after': String(DATABASE_RETRY_AFTER_SECONDS) },
    suggestedFix: `Retry after ${DATABASE_RETRY_AFTER_SECONDS} seconds`,
  });
}

/** The AppError a database error stands for, or undefined when it is not one this module knows. */
export function translateDbError(err: unknown): AppError | undefined {
  if (isDatabaseUnavailable(err)) return databaseUnavailable();
  const f = facts(err);
  if (f.sqlState && INVALID_INPUT_SQLSTATES.has(f.sqlState)) {
    return new AppError('Request_ValidationError', 'A value in the request cannot be stored (control characters, or out of range)');
  }
  if (f.prismaCode === 'P2002' || f.kind === 'UniqueConstraintViolation' || f.sqlState === '23505') {
    return AppError.final('Conflict', 'A resource with these values already exists');
  }
  if (f.prismaCode === 'P2025') return new AppError('Route_NotFound', 'Resource not found');
  if (f.kind === 'InvalidInputValue' || f.kind === 'ValueOutOfRange' || f.kind === 'LengthMismatch') {
    return new AppError('Request_ValidationError', 'A value in the request cannot be stored (control characters, or out of range)');
  }
  return undefined;
}
