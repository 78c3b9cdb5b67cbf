import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bfloat16BitsToFloat32,
  float16BitsToFloat32,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
} from '../runtime/safetensors/float16.ts';

const toHalf = (...values: number[]) => [...float32ToFloat16Bits(new Float32Array(values))];
const toBf16 = (...values: number[]) => [...float32ToBfloat16Bits(new Float32Array(values))];
const bitsToFloat = (bits: number) => new Float32Array(new Uint32Array([bits]).buffer)[0];

// Expected bit patterns come from the IEEE 754 binary16 definition, not from this code.
test('float32 -> float16: normals, extremes and signed zero', () => {
  assert.deepEqual(toHalf(1, -2, 0.5, 65504, -65504, 0, -0), [0x3c00, 0xc000, 0x3800, 0x7bff, 0xfbff, 0x0000, 0x8000]);
  assert.deepEqual(toHalf(2 ** -14, 0.333251953125), [0x0400, 0x3555]);
});

test('float32 -> float16: round to nearest, ties to even', () => {
  // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties go to the even mantissa (1).
  assert.deepEqual(toHalf(1 + 2 ** -11), [0x3c00]);
  // 1 + 3*2^-11 lies halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even).
  assert.deepEqual(toHalf(1 + 3 * 2 ** -11), [0x3c02]);
  assert.deepEqual(toHalf(1 + 2 ** -11 + 2 ** -20), [0x3c01]);
  // Rounding up out of the mantissa carries into the exponent: 2 - 2^-12 -> 2.
  assert.deepEqual(toHalf(2 - 2 ** -12), [0x4000]);
});

test('float32 -> float16: overflow to infinity at 65520, infinities and NaN', () => {
  assert.deepEqual(toHalf(65519.99, 65520, 1e6, -1e6, Infinity, -Infinity), [0x7bff, 0x7c00, 0x7c00, 0xfc00, 0x7c00, 0xfc00]);
  const [nan] = toHalf(NaN);
  assert.equal(nan & 0x7c00, 0x7c00);
  assert.notEqual(nan & 0x03ff, 0);
  // A signalling NaN whose payload lies only in the dropped low bits must stay a NaN.
  const quietened = float32ToFloat16Bits(new Float32Array([bitsToFloat(0x7f800001)]))[0];
  assert.notEqual(quietened & 0x03ff, 0);
});

test('float32 -> float16: subnormals, with ties to even', () => {
  assert.deepEqual(toHalf(2 ** -24, 1023 * 2 ** -24, 2 ** -25, 3 * 2 ** -25, 2 ** -25 * 1.0001, 2 ** -26, -(2 ** -24)), [
    0x0001, 0x03ff, 0x0000, 0x0002, 0x0001, 0x0000, 0x8001,
  ]);
  // Halfway between the largest subnormal and the smallest normal rounds up to the normal (even).
  assert.deepEqual(toHalf(1023.5 * 2 ** -24), [0x0400]);
  // A float32 subnormal becomes a (signed) zero.
  assert.deepEqual(toHalf(bitsToFloat(0x00000001), bitsToFloat(0x80000001)), [0x0000, 0x8000]);
});

test('float16 -> float32 is exact for every bit pattern, and converting back gives the same bits', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const floats = float16BitsToFloat32(all);
  assert.equal(floats[0x3c00], 1);
  assert.equal(floats[0x0001], 2 ** -24);
  assert.equal(floats[0x03ff], 1023 * 2 ** -24);
  assert.equal(floats[0x7bff], 65504);
  assert.equal(floats[0xfc00], -Infinity);
  assert.ok(Object.is(floats[0x8000], -0));
  assert.ok(Number.isNaN(floats[0x7e00]) && Number.isNaN(floats[0xfd01]));
  const back = float32ToFloat16Bits(floats);
  for (let h = 0; h < 65536; h++) {
    const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
    if (isNaN) assert.ok(Number.isNaN(floats[h]) && (back[h] & 0x3ff) !== 0, `NaN ${h}`);
    else if (back[h] !== h) assert.fail(`0x${h.toString(16)} came back as 0x${back[h].toString(16)}`);
  }
});

test('bfloat16 conversions: rounding, overflow, NaN and exact widening', () => {
  assert.deepEqual(toBf16(1, -2, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20), [0x3f80, 0xc000, 0x3f80, 0x3f82, 0x3f81]);
  assert.deepEqual(toBf16(Infinity, -Infinity, bitsToFloat(0x7f7fffff)), [0x7f80, 0xff80, 0x7f80]);
  const [nan] = float32ToBfloat16Bits(new Float32Array([bitsToFloat(0x7f800001)]));
  assert.equal(nan & 0x7f80, 0x7f80);
  assert.notEqual(nan & 0x7f, 0);
  const widened = bfloat16BitsToFloat32(new Uint16Array([0x3f80, 0xc000, 0x0001, 0xff80, 0x7fc0]));
  assert.deepEqual([...widened.subarray(0, 4)], [1, -2, 2 ** -133, -Infinity]);
  assert.ok(Number.isNaN(widened[4]));
});

test('conversions accept views that start inside a larger buffer', () => {
  const backing = new Float32Array([9, 1, 2, 9]);
  assert.deepEqual([...float32ToFloat16Bits(backing.subarray(1, 3))], [0x3c00, 0x4000]);
  const halves = new Uint16Array([0, 0x3c00, 0x4000]).subarray(1);
  assert.deepEqual([...float16BitsToFloat32(halves)], [1, 2]);
});
