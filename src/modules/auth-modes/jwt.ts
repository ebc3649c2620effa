/**
 * RS256 JSON Web Tokens (RFC 7519 / RFC 7515 compact form) signed with node:crypto: the assertions
 * Latchkey mints for Google service accounts and GitHub Apps. Only signing lives here; Latchkey
 * never needs to trust a JWT it is handed.
 */
import { createPrivateKey, createSign, type KeyObject } from 'node:crypto';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An RSA private key from PEM (PKCS#1 or PKCS#8), or undefined when it is not one. */
export function rsaPrivateKey(pem: string): KeyObject | undefined {
  try {
    const key = createPrivateKey({ key: pem, format: 'pem' });
    return key.asymmetricKeyType === 'rsa' ? key : undefined;
  } catch {
    return undefined;
  }
}

export function signRs256(claims: Record<string, unknown>, key: KeyObject, header: Record<string, unknown> = {}): string {
  const input = `${b64url({ alg: 'RS256', typ: 'JWT', ...header })}.${b64url(claims)}`;
  const signature = createSign('RSA-SHA256').update(input).sign(key).toString('base64url');
  return `${input}.${signature}`;
}
