import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InferenceSession, listSupportedBackends } from 'onnxruntime-node';
import {
  autoProviderOrder,
  chooseExecutionProvider,
  ExecutionProviderError,
  probeProvider,
  providerDisplayName,
  type ExecutionProviderName,
} from '../runtime/pipeline/executionProvider.ts';

const backends = listSupportedBackends();
const listed = (p: string): boolean => backends.some((b) => b.name === p);

test('auto runs a real session on the first provider that works and says why the others were skipped', async () => {
  const tried: ExecutionProviderName[] = [];
  const choice = await chooseExecutionProvider('auto', async (provider) => {
    tried.push(provider);
    await probeProvider(provider);
    return provider;
  });
  assert.equal(choice.value, choice.provider);
  const index = autoProviderOrder.indexOf(choice.provider);
  // Only listed providers are tried, in order, up to the one that worked.
  assert.deepEqual(tried, autoProviderOrder.slice(0, index + 1).filter(listed));
  assert.equal(choice.attempts.length, index + 1);
  for (const attempt of choice.attempts.slice(0, -1)) {
    assert.equal(attempt.outcome, listed(attempt.provider) ? 'failed' : 'unavailable');
    if (attempt.outcome === 'failed') assert.ok(attempt.reason && attempt.reason.length > 5, attempt.reason);
    assert.ok(choice.note.includes(providerDisplayName(attempt.provider)), choice.note);
  }
  assert.match(choice.note, new RegExp(`^Running on ${providerDisplayName(choice.provider)} \\(auto`));
});

test('an explicit cpu device uses the CPU provider', async () => {
  const choice = await chooseExecutionProvider('cpu', async (p) => {
    await probeProvider(p);
    return 'opened';
  });
  assert.equal(choice.provider, 'cpu');
  assert.equal(choice.value, 'opened');
  assert.equal(choice.note, 'Running on CPU (as set)');
});

test('an explicit device this build lacks fails with a message saying what to do', async () => {
  const missing = (['dml', 'coreml'] as const).find((p) => !listed(p));
  assert.ok(missing, 'one of DirectML/CoreML is always absent on a given platform');
  let opened = false;
  await assert.rejects(
    chooseExecutionProvider(missing, async () => {
      opened = true;
    }),
    (error: unknown) => {
      assert.ok(error instanceof ExecutionProviderError);
      assert.match(error.message, new RegExp(providerDisplayName(missing)));
      assert.match(error.message, /not bundled/);
      assert.match(error.message, /"auto".*"cpu"/);
      return true;
    },
  );
  assert.equal(opened, false);
});

test('a provider whose session creation fails is skipped by auto and reported with the reason', async () => {
  const corrupt = new Uint8Array([8, 7, 1, 2, 3, 4, 5, 6, 7, 8]);
  const choice = await chooseExecutionProvider('auto', async (provider) => {
    // Every provider but the CPU gets a model ONNX Runtime refuses, so each one really fails.
    if (provider !== 'cpu') await InferenceSession.create(corrupt, { executionProviders: [provider], logSeverityLevel: 4 });
    await probeProvider(provider);
    return provider;
  });
  assert.equal(choice.provider, 'cpu');
  const failed = choice.attempts.filter((a) => a.outcome === 'failed');
  assert.deepEqual(
    failed.map((a) => a.provider),
    autoProviderOrder.filter((p) => p !== 'cpu' && listed(p)),
  );
  for (const f of failed) assert.ok(choice.note.includes(`${providerDisplayName(f.provider)} failed: `), choice.note);

  // The same failure on an explicitly chosen device is an error that carries ONNX Runtime's reason.
  await assert.rejects(
    chooseExecutionProvider('cpu', async () => InferenceSession.create(corrupt, { logSeverityLevel: 4 })),
    (error: unknown) => {
      assert.ok(error instanceof ExecutionProviderError);
      assert.match(error.message, /^the model could not be loaded on the CPU: .*(protobuf|parse|model)/i);
      return true;
    },
  );
});
