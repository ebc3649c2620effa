/**
 * The one crypto module. Callers get operations, never keys.
 * - hmac(): keyed hash for API keys (HMAC-SHA256 with the server secret).
 * - fingerprint(): unkeyed SHA-256, for looking a secret up in this process's memory without holding it.
 * - seal()/open(): AES-256-GCM with a random 12-byte IV. A sealed value is
 *   `lk1.<keyId>.<iv>.<tag>.<ciphertext>` (base64url parts), so keys can rotate; the associated data
 *   binds it to its owner (e.g. project and account id), so a value copied to another row fails to open.
 */
import { createCipheriv, createDecipheriv, createHmac, hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ServerSecrets } from './secrets.js';

const VERSION = 'lk1';
/** GCM's full 128-bit tag: every value Latchkey has sealed carries one. */
const TAG_BYTES = 16;

export class DecryptError extends Error {
  constructor() {
    super('sealed value could not be opened');
    this.name = 'DecryptError';
  }
}

export type Crypto = ReturnType<typeof createCrypto>;

export function createCrypto(secrets: Pick<ServerSecrets, 'hmacSecret' | 'encryptionKeys' | 'activeKeyId'>) {
  const { hmacSecret, encryptionKeys, activeKeyId } = secrets;

  return {
    hmac(value: string): Buffer {
      return createHmac('sha256', hmacSecret).update(value, 'utf8').digest();
    },

    /**
     * SHA-256 of a high-entropy secret (an API key), base64: a map key for values verified once
     * (the verified-key cache), so the map never holds the secret itself. Unkeyed on purpose: the
     * stored form stays the HMAC, and one one-shot hash costs about a sixth of an HMAC here, which
     * every authenticated request paid.
     */
    fingerprint(value: string): string {
      return hash('sha256', value, 'base64');
    },

    /** Constant-time equality of two byte strings. */
    equal(a: Buffer, b: Buffer): boolean {
      return a.length === b.length && timingSafeEqual(a, b);
    },

    seal(plaintext: string, aad: string): string {
      const key = encryptionKeys.get(activeKeyId)!;
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.from(aad, 'utf8'));
      const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [VERSION, activeKeyId, iv.toString('base64url'), tag.toString('base64url'), ct.toString('base64url')].join('.');
    },

    open(sealed: string, aad: string): string {
      const parts = sealed.split('.');
      if (parts.length !== 5 || parts[0] !== VERSION) throw new DecryptError();
      const key = encryptionKeys.get(parts[1]!);
      if (!key) throw new DecryptError();
      try {
        // The tag's length is fixed: without it, GCM accepts a tag cut down to 4 bytes (a truncation
        // of the real one opens), and a forger would need 2^32 tries instead of 2^128.
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(parts[2]!, 'base64url'), { authTagLength: TAG_BYTES });
        decipher.setAAD(Buffer.from(aad, 'utf8'));
        decipher.setAuthTag(Buffer.from(parts[3]!, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(parts[4]!, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        throw new DecryptError();
      }
    },

    /** The id of the key new values are sealed with (not the key). */
    activeKeyId(): string {
      return activeKeyId;
    },

    /** Whether a sealed value was made with an older key and should be re-sealed. */
    needsRotation(sealed: string): boolean {
      return sealed.split('.')[1] !== activeKeyId;
    },
  };
}
