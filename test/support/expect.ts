/** Assertions shared by the API tests. */
import { expect } from 'vitest';

export type Envelope = {
  error: { message: string; code: number; slug: string; status: number; request_id: string; suggested_fix?: string; errors?: string[] };
};
export type Res = { status: number; body: unknown; headers: Record<string, string>; text?: string };

/** The response is the error envelope with this status (and slug), its request id matching the header. */
export function expectEnvelope(res: Res, status: number, slug?: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers['content-type']).toMatch(/application\/json/);
  const e = (res.body as Envelope).error;
  expect(e, JSON.stringify(res.body)).toBeDefined();
  expect(e.status).toBe(status);
  expect(typeof e.code).toBe('number');
  expect(e.message.length).toBeGreaterThan(0);
  expect(e.request_id).toBe(res.headers['x-request-id']);
  if (slug) expect(e.slug, JSON.stringify(res.body)).toBe(slug);
  return e;
}
