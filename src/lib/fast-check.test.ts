import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AccountParams } from '../modules/connected-accounts/connected-accounts.schemas.js';
import { storable, withFastCheck, withFastPath } from './schemas.js';

describe('fast checks of request schemas', () => {
  // What the app's validator compiler does: the schema (with the storable-text rule) behind its fast check.
  const viaSchema = (data: unknown) => {
    const r = storable(AccountParams).safeParse(data);
    return r.success ? { value: r.data } : { error: r.error.issues.map((i) => i.message) };
  };
  const validate = withFastPath(AccountParams, viaSchema);

  it('the account-id check agrees with its schema on every input, and gives the schema the ones it refuses', () => {
    const inputs: unknown[] = [
      { nanoid: 'ca_abc123' },
      { nanoid: 'x' },
      { nanoid: 'a'.repeat(64) },
      { nanoid: 'a'.repeat(65) },
      { nanoid: '' },
      { nanoid: 'ca_abc\n' },
      { nanoid: 'ca abc' },
      { nanoid: 'ca_\u0000' },
      { nanoid: 'ca_ünï' },
      { nanoid: 42 },
      { nanoid: 'ca_1', other: 'x' },
      {},
      null,
      'ca_1',
    ];
    for (const input of inputs) expect(validate(input), JSON.stringify(input)).toEqual(viaSchema(input));
  });

  it('a schema without a fast check is validated by the schema alone', () => {
    const plain = z.object({ a: z.string() });
    const v = (d: unknown) => ({ value: plain.parse(d) });
    expect(withFastPath(plain, v)).toBe(v);
    const checked = withFastCheck(z.object({ b: z.string() }), () => false);
    expect(withFastPath(checked, v)).not.toBe(v);
  });
});
