/** What a provider's response body is to the buffered proxy: JSON, text, nothing, or binary. */
const TEXTUAL = /^(text\/|application\/(xml|javascript|x-www-form-urlencoded|x-ndjson|graphql)\b)|\+xml\b/i;
const JSON_TYPE = /^application\/(json|[a-z0-9.+-]+\+json)\b/i;

export type DescribedBody = { kind: 'json' | 'text' | 'empty'; data: unknown } | { kind: 'binary'; contentType: string };

export function describeBody(contentType: string | undefined, raw: Buffer): DescribedBody {
  if (raw.length === 0) return { kind: 'empty', data: null };
  const type = (contentType ?? '').trim();
  if (JSON_TYPE.test(type)) {
    const text = raw.toString('utf8');
    try {
      return { kind: 'json', data: JSON.parse(text) as unknown };
    } catch {
      // Declared JSON that is not: the text as it came.
      return { kind: 'text', data: text };
    }
  }
  if (TEXTUAL.test(type)) return { kind: 'text', data: raw.toString('utf8') };
  if (!type) {
    // No declared type: text when the bytes are valid UTF-8, binary otherwise.
    try {
      return { kind: 'text', data: new TextDecoder('utf-8', { fatal: true }).decode(raw) };
    } catch {
      return { kind: 'binary', contentType: 'application/octet-stream' };
    }
  }
  return { kind: 'binary', contentType: type.slice(0, 200) };
}
