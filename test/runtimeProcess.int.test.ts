// The real runtime entry point (runtime/runtimeMain.ts) in a child process, driven through the
// supervisor as the extension does.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { RuntimeSupervisor } from '../extension/runtimeSupervisor.ts';
import { countTokensRequest, RuntimeError } from '../runtime/protocol.ts';
import { referenceDir, tinyModelDir } from './fixturePaths.ts';

const supervisor = new RuntimeSupervisor({ modulePath: resolve('runtime/runtimeMain.ts'), execArgv: ['--import', 'tsx'] });
after(() => supervisor.dispose());

test('counts prompt tokens as the reference tokenizer does (without start and end tokens)', async () => {
  const reference = JSON.parse(await readFile(join(referenceDir, 'tokenizer-cases.json'), 'utf8')) as {
    cases: { prompt: string; untruncated_length: number }[];
  };
  for (const { prompt, untruncated_length } of reference.cases) {
    const { count, limit } = await supervisor.request(countTokensRequest, { modelDir: tinyModelDir, text: prompt });
    assert.equal(count, untruncated_length - 2, prompt);
    assert.equal(limit, 75);
  }
  assert.ok(reference.cases.some((c) => c.untruncated_length - 2 > 75), 'a case over the limit is covered');
});

test('a model folder without a tokenizer gives a typed error, and the process carries on', async () => {
  await assert.rejects(supervisor.request(countTokensRequest, { modelDir: referenceDir, text: 'x' }), (error: unknown) => {
    assert.ok(error instanceof RuntimeError);
    assert.equal(error.code, 'userError');
    assert.match(error.message, /tokenizer/i);
    return true;
  });
  assert.equal((await supervisor.request(countTokensRequest, { modelDir: tinyModelDir, text: 'a cat' })).count, 2);
});
