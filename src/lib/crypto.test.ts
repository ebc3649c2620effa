import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DecryptError, createCrypto } from './crypto.js';

const k1 = randomBytes(32);
const k2 = randomBytes(32);

describe('crypto', () => {
  const c = createCrypto({ hmacSecret: randomBytes(32), encryptionKeys: new Map([['k1', k1]]), activeKeyId: 'k1' });

  it('seals with AES-256-GCM and opens only with the same associated data', () => {
    const sealed = c.seal('s3cret-token', 'proj_a/ca_1');
    expect(sealed).toMatch(/^lk1\.k1\./);
    expect(sealed).not.toContain('s3cret');
    expect(c.open(sealed, 'proj_a/ca_1')).toBe('s3cret-token');
    expect(() => c.open(sealed, 'proj_b/ca_1')).toThrow(DecryptError);
    expect(c.seal('same', 'a')).not.toBe(c.seal('same', 'a'));
  });

  it('detects tampering', () => {
    const sealed = c.seal('value', 'aad');
    const parts = sealed.split('.');
    const ct = Buffer.from(parts[4]!, 'base64url');
    ct[0]! ^= 1;
    parts[4] = ct.toString('base64url');
    expect(() => c.open(parts.join('.'), 'aad')).toThrow(DecryptError);
    expect(() => c.open('garbage', 'aad')).toThrow(DecryptError);
  });

  it('refuses a truncated authentication tag (a forger would need 2^32 tries at 4 bytes, not 2^128)', () => {
    const sealed = c.seal('value', 'aad');
    const parts = sealed.split('.');
    for (const bytes of [4, 8, 12, 15]) {
      const short = [...parts];
      short[3] = Buffer.from(parts[3]!, 'base64url').subarray(0, bytes).toString('base64url');
      expect(() => c.open(short.join('.'), 'aad')).toThrow(DecryptError);
    }
    expect(c.open(sealed, 'aad')).toBe('value');
  });

  it('opens values sealed under an older key after rotation, and says they need re-sealing', () => {
    const old = c.seal('v', 'aad');
    const rotated = createCrypto({ hmacSecret: randomBytes(32), encryptionKeys: new Map([['k2', k2], ['k1', k1]]), activeKeyId: 'k2' });
    expect(rotated.open(old, 'aad')).toBe('v');
    expect(rotated.needsRotation(old)).toBe(true);
    expect(rotated.needsRotation(rotated.seal('v', 'aad'))).toBe(false);
  });

  it('fingerprints a secret with SHA-256: stable, unkeyed, and never the secret itself', () => {
    const key = `ak_${'x'.repeat(40)}`;
    const other = createCrypto({ hmacSecret: randomBytes(32), encryptionKeys: new Map([['k1', k1]]), activeKeyId: 'k1' });
    expect(c.fingerprint(key)).toBe(createHash('sha256').update(key).digest('base64'));
    expect(other.fingerprint(key)).toBe(c.fingerprint(key));
    expect(c.fingerprint(`${key}y`)).not.toBe(c.fingerprint(key));
    expect(c.fingerprint(key)).not.toContain('xxxx');
    expect(c.fingerprint(key)).not.toBe(c.hmac(key).toString('base64'));
  });
});
