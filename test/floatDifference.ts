// The largest element-wise difference of two equally long arrays, for tests that compare images or
// latents against each other within a tolerance.
import assert from 'node:assert/strict';

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'arrays of different length');
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** Largest and mean element-wise difference: the fixtures README's image agreement (2e-3 / 2e-4). */
export function pixelErrors(actual: ArrayLike<number>, expected: ArrayLike<number>): { max: number; mean: number } {
  assert.equal(actual.length, expected.length, 'arrays of different length');
  let max = 0;
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    sum += d;
    if (!(d <= max)) max = Number.isNaN(d) ? Infinity : d;
  }
  return { max, mean: sum / Math.max(1, expected.length) };
}
