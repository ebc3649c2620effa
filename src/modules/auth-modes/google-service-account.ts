/**
 * GOOGLE_SERVICE_ACCOUNT: the JWT bearer grant (RFC 7523 §2.1) as Google's service accounts use
 * it. The account's `credentials_json` (the key file downloaded from Google Cloud) is validated,
 * an assertion is minted with its private key (RS256; iss = client_email, aud = token_uri,
 * iat = now, exp ≤ iat + 1 h, `sub` for domain-wide delegation) and exchanged at its token_uri for
 * an access token. Nothing to refresh: a token near expiry is replaced by minting again.
 */
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { checkUrl, type HttpOptions, postTokenForm, type TokenResponse } from './http.js';
import { rsaPrivateKey, signRs256 } from './jwt.js';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Google refuses assertions that live longer than an hour. */
export const MAX_ASSERTION_SECONDS = 3600;

const serviceAccountJson = z.object({
  type: z.literal('service_account', { error: 'type must be "service_account"' }),
  client_email: z.email({ error: 'client_email must be an e-mail address' }).max(320),
  private_key: z.string().min(1, { error: 'private_key is required' }).max(16_384),
  private_key_id: z.string().max(200).optional(),
  token_uri: z.url({ error: 'token_uri must be a URL' }).max(2048).default('https://oauth2.googleapis.com/token'),
  project_id: z.string().max(200).optional(),
  client_id: z.string().max(200).optional(),
});

export type ServiceAccount = Omit<z.infer<typeof serviceAccountJson>, 'private_key'> & { privateKey: KeyObject };

/** What is wrong with a credentials_json, field by field (never echoing the key), or the parsed account. */
export function parseServiceAccount(
  credentialsJson: string,
  http: Pick<HttpOptions, 'allowInsecureLoopback'> = {},
): { ok: true; account: ServiceAccount } | { ok: false; errors: string[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(credentialsJson);
  } catch {
    return { ok: false, errors: ['credentials_json is not JSON'] };
  }
  const parsed = serviceAccountJson.safeParse(raw);
  if (!parsed.success) return { ok: false, errors: parsed.error.issues.map((i) => `credentials_json.${i.path.join('.')}: ${i.message}`) };
  const { private_key, ...rest } = parsed.data;
  try {
    checkUrl(http, rest.token_uri);
  } catch {
    return { ok: false, errors: ['credentials_json.token_uri: must be an https URL'] };
  }
  const privateKey = rsaPrivateKey(private_key);
  if (!privateKey) return { ok: false, errors: ['credentials_json.private_key: not an RSA private key in PEM form'] };
  return { ok: true, account: { ...rest, privateKey } };
}

export type AssertionRequest = {
  scopes: string[];
  /** Domain-wide delegation: the Workspace user to act as. */
  subject?: string;
  lifetimeSeconds?: number;
  now?: Date;
};

export function mintAssertion(account: ServiceAccount, req: AssertionRequest): string {
  const iat = Math.floor((req.now ?? new Date()).getTime() / 1000);
  const lifetime = Math.min(req.lifetimeSeconds ?? MAX_ASSERTION_SECONDS, MAX_ASSERTION_SECONDS);
  const claims: Record<string, unknown> = { iss: account.client_email, scope: req.scopes.join(' '), aud: account.token_uri, iat, exp: iat + lifetime };
  if (req.subject) claims.sub = req.subject;
  return signRs256(claims, account.privateKey, account.private_key_id ? { kid: account.private_key_id } : {});
}

/** Mint and exchange: a fresh access token for the service account. Throws a classified ProviderError. */
export async function serviceAccountToken(http: HttpOptions, account: ServiceAccount, req: Omit<AssertionRequest, 'now'>, now: () => Date = () => new Date()): Promise<TokenResponse> {
  const assertion = mintAssertion(account, { ...req, now: now() });
  return postTokenForm(http, account.token_uri, { grant_type: JWT_BEARER_GRANT, assertion }, {}, now);
}
