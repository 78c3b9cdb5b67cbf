import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkSize, imagePresets, parseSize } from '../extension/jobs/imagePresets.ts';

test('sizes parse in the common spellings', () => {
  assert.deepEqual(parseSize('1024x256'), { width: 1024, height: 256 });
  assert.deepEqual(parseSize(' 640 × 384 '), { width: 640, height: 384 });
  assert.deepEqual(parseSize('64*64'), { width: 64, height: 64 });
  assert.deepEqual(parseSize('768, 512'), { width: 768, height: 512 });
});

test('sizes that are not multiples of 8, out of range or malformed are refused with a suggestion', () => {
  const notMultiple = parseSize('1001x256');
  assert.ok('error' in notMultiple);
  assert.match(notMultiple.error, /Width 1001 is not a multiple of 8/);
  assert.match(notMultiple.error, /try 1000 or 1008/);
  const tallNotMultiple = parseSize('512x250');
  assert.ok('error' in tallNotMultiple && /Height 250/.test(tallNotMultiple.error));
  assert.ok('error' in parseSize('32x32'));
  assert.ok('error' in parseSize('4096x512'));
  assert.ok('error' in parseSize('wide'));
  assert.ok('error' in parseSize('512x'));
});

test('every preset is a valid size', () => {
  for (const preset of imagePresets) assert.deepEqual(checkSize(preset.width, preset.height), { width: preset.width, height: preset.height });
});
