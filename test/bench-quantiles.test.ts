/**
 * The benchmark merges the latency distributions of runs measured in interleaved turns from each
 * turn's quantiles (bench/wrk.ts). Checked here against distributions whose merged quantiles are
 * known in closed form.
 */
import { describe, expect, it } from 'vitest';
import { QUANTILE_GRID, mergedQuantile } from '../bench/wrk.js';

/** A turn whose latencies are uniform on [lo, hi] µs. */
const uniform = (requests: number, lo: number, hi: number) => ({ requests, q: QUANTILE_GRID.map((f) => lo + f * (hi - lo)) });

describe('merging interleaved turns', () => {
  it('a single turn keeps its own quantiles', () => {
    const t = uniform(500, 0, 10_000);
    expect(mergedQuantile([t], 0.5)).toBeCloseTo(5_000, -2);
    expect(mergedQuantile([t], 0.99)).toBeCloseTo(9_900, -1);
  });

  it('weights each turn by its requests', () => {
    // A quarter of the requests on [0, 1000], three quarters on [1000, 2000].
    const merged = [uniform(1_000, 0, 1_000), uniform(3_000, 1_000, 2_000)];
    expect(mergedQuantile(merged, 0.5)).toBeCloseTo(1_000 + (0.25 / 0.75) * 1_000, -1);
    expect(mergedQuantile(merged, 0.99)).toBeCloseTo(1_000 + (0.74 / 0.75) * 1_000, -1);
    // The same two turns with the weights swapped give another answer: the weights are used.
    const swapped = [uniform(3_000, 0, 1_000), uniform(1_000, 1_000, 2_000)];
    expect(mergedQuantile(swapped, 0.5)).toBeCloseTo((0.5 / 0.75) * 1_000, -1);
  });

  it('a slow turn moves the merged p99 as much as its share of the requests says', () => {
    const fast = uniform(9_000, 0, 100);
    const slow = uniform(1_000, 1_000, 2_000);
    // p99 lies in the slow turn: 90% below 100 µs, the slow 10% spread over [1000, 2000].
    expect(mergedQuantile([fast, slow], 0.99)).toBeCloseTo(1_000 + 0.9 * 1_000, -1);
    expect(mergedQuantile([fast, slow], 0.5)).toBeLessThan(100);
  });
});
