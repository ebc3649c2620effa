/**
 * Opaque cursors: base64url JSON of a keyset position, validated on the way in. A cursor that does not
 * decode or does not fit the expected shape is a 400, never a 500.
 */
import type { z } from 'zod';
import { AppError } from './errors.js';

export function encodeCursor(position: unknown): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

export function decodeCursor<T extends z.ZodType>(cursor: string, shape: T): z.infer<T> {
  let raw: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('bad alphabet');
    raw = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new AppError('Request_InvalidCursor', 'Invalid cursor', { suggestedFix: 'Pass next_cursor from a previous page unchanged' });
  }
  const parsed = shape.safeParse(raw);
  if (!parsed.success) throw new AppError('Request_InvalidCursor', 'Invalid cursor', { suggestedFix: 'Pass next_cursor from a previous page unchanged' });
  return parsed.data;
}

export function pageInfo(totalItems: number, limit: number, itemsBefore: number) {
  return {
    total_items: totalItems,
    total_pages: Math.max(1, Math.ceil(totalItems / limit)),
    current_page: Math.floor(itemsBefore / limit) + 1,
  };
}
