/**
 * The server's one memory-reducing collection after start-up (src/lib/startup-memory.ts): it shrinks
 * a grown young generation, and it leaves no gc function in the application's global scope.
 * Run in a child process with `npm start`'s semi-space cap, so that the test owns the whole heap.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');

const script = `
import v8 from 'node:v8';
import { releaseStartupMemory } from './src/lib/startup-memory.ts';
const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
// Survivors of many scavenges grow the young generation to its cap, as start-up does.
const keep = [];
for (let r = 0; r < 40; r++) {
  const batch = [];
  for (let i = 0; i < 50000; i++) batch.push({ i, s: 'x' + i });
  keep.push(batch.slice(0, 5000));
}
const before = newSpace();
const ran = releaseStartupMemory();
console.log(JSON.stringify({ ran, before, after: newSpace(), kept: keep.length, gcVisible: typeof globalThis.gc }));
`;

describe('releaseStartupMemory', () => {
  it('shrinks a grown young generation and exposes no gc function', () => {
    const out = execFileSync(process.execPath, ['--max-semi-space-size=8', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    const r = JSON.parse(out.trim().split('\n').pop()!) as { ran: boolean; before: number; after: number; kept: number; gcVisible: string };
    expect(r.ran).toBe(true);
    expect(r.kept).toBe(40);
    expect(r.before).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    expect(r.after).toBeLessThan(r.before / 2);
    expect(r.gcVisible).toBe('undefined');
  });
});
