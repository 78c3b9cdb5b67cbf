// Awaits a promise that must reject with a RuntimeError and returns that error for its code.
import assert from 'node:assert/strict';
import { RuntimeError } from '../runtime/protocol/runtimeProtocol.ts';

export async function rejection(promise: Promise<unknown>): Promise<RuntimeError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof RuntimeError, `expected a RuntimeError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the promise to reject');
}
