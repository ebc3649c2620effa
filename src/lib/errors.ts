/**
 * One error type and one table. Every failure a client can see is an AppError with a code from
 * ERROR_CODES, rendered by plugins/error-handler.ts in Composio's envelope:
 * {"error":{"message","code","slug","status","request_id","suggested_fix"?,"errors"?}}.
 */
export const ERROR_CODES = {
  Request_ValidationError: { status: 400, code: 1001 },
  Request_MalformedJson: { status: 400, code: 1002 },
  Request_UnsupportedMediaType: { status: 415, code: 1003 },
  Request_BodyTooLarge: { status: 413, code: 1004 },
  Request_InvalidCursor: { status: 400, code: 1005 },
  Request_HeadersTooLarge: { status: 431, code: 1007 },
  Request_Timeout: { status: 408, code: 1008 },
  Route_NotFound: { status: 404, code: 1006 },
  Auth_MissingApiKey: { status: 401, code: 1101 },
  Auth_InvalidApiKey: { status: 401, code: 1102 },
  Auth_MultipleAuthModes: { status: 401, code: 1103 },
  Auth_Forbidden: { status: 403, code: 1104 },
  RateLimit_Exceeded: { status: 429, code: 1201 },
  Toolkit_ResourceNotFound: { status: 404, code: 301 },
  Toolkit_AlreadyExists: { status: 409, code: 302 },
  Toolkit_InvalidDefinition: { status: 400, code: 303 },
  AuthConfig_ResourceNotFound: { status: 404, code: 401 },
  AuthConfig_InvalidRequest: { status: 400, code: 402 },
  AuthConfig_Disabled: { status: 400, code: 403 },
  /** The toolkit lists the scheme, but it is unverified or unsupported (toolkits README). */
  AuthConfig_SchemeNotAvailable: { status: 400, code: 410 },
  ConnectedAccount_ResourceNotFound: { status: 404, code: 606 },
  ConnectedAccount_InvalidRequest: { status: 400, code: 607 },
  ConnectedAccount_Conflict: { status: 409, code: 608 },
  ConnectedAccount_InvalidTransition: { status: 409, code: 609 },
  ConnectedAccount_NotSupported: { status: 400, code: 610 },
  ConnectedAccount_ProviderError: { status: 502, code: 611 },
  /** The provider refused a refresh: the grant is dead and the account is now EXPIRED. */
  ConnectedAccount_Expired: { status: 409, code: 612 },
  /** The account is neither the user's own nor SHARED with them (connected-accounts/shared-access.ts). */
  ConnectedAccount_SharedAccessDenied: { status: 403, code: 620 },
  /** The provider proxy: Latchkey's own answers (the provider's are passed through with a 200). */
  Proxy_InvalidRequest: { status: 400, code: 1601 },
  Proxy_HostRefused: { status: 400, code: 1602 },
  Proxy_DestinationRefused: { status: 400, code: 1603 },
  Proxy_AccountNotActive: { status: 409, code: 1604 },
  Proxy_RequestTooLarge: { status: 413, code: 1605 },
  Proxy_ResponseTooLarge: { status: 502, code: 1606 },
  Proxy_UpstreamUnreachable: { status: 502, code: 1607 },
  Proxy_UpstreamTimeout: { status: 504, code: 1608 },
  Proxy_FileNotFound: { status: 404, code: 1609 },
  /** GET /metrics without the METRICS_TOKEN bearer token. */
  Metrics_Unauthorized: { status: 401, code: 1701 },
  Conflict: { status: 409, code: 1301 },
  Database_Unavailable: { status: 503, code: 1501 },
  Storage_Unreadable: { status: 500, code: 1502 },
  Internal_ServerError: { status: 500, code: 1500 },
} as const satisfies Record<string, { status: number; code: number }>;

export type ErrorSlug = keyof typeof ERROR_CODES;

export type AppErrorOptions = {
  suggestedFix?: string;
  /** Field-level problems, e.g. "body.toolkit.slug: Required". */
  errors?: string[];
  /** Extra response headers, e.g. x-should-retry: false on deterministic conflicts. */
  headers?: Record<string, string>;
};

export class AppError extends Error {
  readonly slug: ErrorSlug;
  readonly status: number;
  readonly code: number;
  readonly suggestedFix?: string;
  readonly errors?: string[];
  readonly headers?: Record<string, string>;

  constructor(slug: ErrorSlug, message: string, options: AppErrorOptions = {}) {
    super(message);
    this.name = 'AppError';
    this.slug = slug;
    this.status = ERROR_CODES[slug].status;
    this.code = ERROR_CODES[slug].code;
    this.suggestedFix = options.suggestedFix;
    this.errors = options.errors;
    this.headers = options.headers;
  }

  /** For errors the client should not retry as is (Composio's SDKs retry 409 unless told not to). */
  static final(slug: ErrorSlug, message: string, options: AppErrorOptions = {}) {
    return new AppError(slug, message, { ...options, headers: { 'x-should-retry': 'false', ...options.headers } });
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}
