import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generatorIdleUnloadMs } from '../runtime/process/runtimeHandlers.ts';

test('idle unload setting: 0 keeps the model loaded, other values pass through', () => {
  assert.equal(generatorIdleUnloadMs(0), Number.POSITIVE_INFINITY);
  assert.equal(generatorIdleUnloadMs(90_000), 90_000);
});
