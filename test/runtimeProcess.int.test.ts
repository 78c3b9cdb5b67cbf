// The real runtime entry point (runtime/process/runtimeMain.ts) in a child process, driven through the
// supervisor and job queue as the extension does: tokens, model lookup, generation to PNG files,
// cancellation.
import { limits } from '../runtime/protocol/limits.ts';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import type { GenerateOptions, ProgressEvent } from '../runtime/protocol/generationTypes.ts';
import { parseGenerationParameters } from '../runtime/png/generationParameters.ts';
import { readPngTextChunks } from '../runtime/png/pngTextChunks.ts';
import { countTokensRequest, listCacheRequest, planModelRequest, removeCacheRequest, resolveModelRequest } from '../runtime/protocol/runtimeProtocol.ts';
import { requiredModelFiles } from '../runtime/modelStore/requiredModelFiles.ts';
import { referenceDir } from './fixturePaths.ts';
import { useRuntimeHarness } from './runtimeHarness.ts';
import { rejection } from './runtimeRejection.ts';

const harness = useRuntimeHarness('letterpress-runtime-');
const { queue, supervisor } = harness;


test('counts prompt tokens as the reference tokenizer does (without start and end tokens)', async () => {
  const reference = JSON.parse(await readFile(join(referenceDir, 'tokenizer-cases.json'), 'utf8')) as {
    cases: { prompt: string; untruncated_length: number }[];
  };
  for (const { prompt, untruncated_length } of reference.cases) {
    const { count, limit } = await supervisor.request(countTokensRequest, { modelDir: harness.modelDir, text: prompt });
    assert.equal(count, untruncated_length - 2, prompt);
    assert.equal(limit, 75);
  }
  assert.ok(reference.cases.some((c) => c.untruncated_length - 2 > 75), 'a case over the limit is covered');
});

test('a folder without a tokenizer gives a typed user error, and the process carries on', async () => {
  const error = await rejection(supervisor.request(countTokensRequest, { modelDir: referenceDir, text: 'x' }));
  assert.equal(error.code, 'userError');
  assert.match(error.message, /tokenizer/i);
  assert.equal((await supervisor.request(countTokensRequest, { modelDir: harness.modelDir, text: 'a cat' })).count, 2);
});

test('model lookup: a local folder as is; a hub model that is not cached is reported missing when offline', async () => {
  const local = await supervisor.request(resolveModelRequest, { jobId: 'local', model: harness.modelDir, offline: true });
  assert.deepEqual(local, { modelDir: harness.modelDir, source: 'local' });
  const missing = await rejection(
    supervisor.request(resolveModelRequest, { jobId: 'hub', model: 'someone/not-here', offline: true, cacheDir: join(harness.scratch, 'empty-cache') }),
  );
  assert.equal(missing.code, 'modelMissing');
  const broken = await rejection(supervisor.request(resolveModelRequest, { jobId: 'broken', model: referenceDir, offline: true }));
  assert.equal(broken.code, 'userError', 'a local folder that is not a model says why');
});

test('download plan through the runtime (the host asks instead of calling the hub): a local folder needs nothing', async () => {
  let bytes = 0;
  for (const file of requiredModelFiles) bytes += (await stat(join(harness.modelDir, ...file.split('/')))).size;
  const plan = await supervisor.request(planModelRequest, { model: harness.modelDir });
  assert.deepEqual(plan, { source: 'local', revision: undefined, totalBytes: bytes, cachedBytes: bytes, bytesToFetch: 0 });
  assert.ok(bytes > 0);
  // Checked at the boundary, before any look-up.
  const relative = await rejection(supervisor.request(planModelRequest, { model: harness.modelDir, cacheDir: 'not/absolute' }));
  assert.equal(relative.code, 'invalidParams');
});

function options(overrides: Partial<GenerateOptions> = {}): GenerateOptions {
  return { modelDir: harness.modelDir, prompt: 'a sign that says "HELLO"', negativePrompt: 'blurry', steps: 3, guidanceScale: 7.5, width: 80, height: 64, seed: 1234, device: 'cpu', ...overrides };
}

test('generates a PNG file with its parameters chunk and reports every step', async () => {
  const outputDir = await mkdtemp(join(harness.scratch, 'out-'));
  const job = queue.generate('hello', { options: options(), outputDir });
  const events: ProgressEvent[] = [];
  job.onProgress((event) => events.push(event));
  const result = await job.result;
  assert.equal(result.provider, 'cpu');
  assert.equal(result.images.length, 1);
  const [image] = result.images;
  assert.equal(image!.file, join(outputDir, (await readdir(outputDir))[0]!), 'the only file in the folder');
  const png = await readFile(image!.file);
  const meta = await sharp(png).metadata();
  assert.deepEqual([meta.width, meta.height, meta.format], [80, 64, 'png']);
  const parameters = parseGenerationParameters(readPngTextChunks(png).parameters!);
  assert.equal(parameters.prompt, 'a sign that says "HELLO"');
  assert.equal(parameters.negativePrompt, 'blurry');
  assert.equal(parameters.steps, 3);
  assert.equal(parameters.seed, 1234);
  assert.equal(image!.parameters, readPngTextChunks(png).parameters);
  assert.deepEqual(
    events.filter((e) => e.status === 'step').map((e) => (e.status === 'step' ? e.step : 0)),
    [1, 2, 3],
  );
});

test('a running generation can be cancelled and the next one still runs', async () => {
  const outputDir = await mkdtemp(join(harness.scratch, 'out-'));
  const slow = queue.generate('slow', { options: options({ steps: limits.steps.max, width: 128, height: 128 }), outputDir });
  const next = queue.generate('next', { options: options({ seed: 99 }), outputDir });
  await new Promise<void>((resolveStep) => slow.onProgress((e) => e.status === 'step' && e.step >= 2 && resolveStep()));
  slow.cancel();
  assert.equal((await rejection(slow.result)).code, 'cancelled');
  const result = await next.result;
  assert.equal(result.images[0]!.seed, 99);
  assert.deepEqual(await readdir(outputDir), [result.images[0]!.file.split('/').pop()], 'the cancelled job wrote nothing');
});

test("the model cache through the runtime: lists the graphs a generation made, removes the picked ones", async () => {
  const outputDir = await mkdtemp(join(harness.scratch, 'out-'));
  await queue.generate('for the cache', { options: options({ steps: 1 }), outputDir }).result;
  const model = await realpath(harness.modelDir);
  const listed = await supervisor.request(listCacheRequest, {});
  assert.equal(await realpath(listed.cacheDir), await realpath(process.env.LETTERPRESS_CACHE!));
  const mine = listed.graphs.filter((g) => g.model === model);
  assert.deepEqual(mine.map((g) => [g.component, g.precision, g.provider, g.trusted]), [
    ['text_encoder', 'fp32', 'cpu', true],
    ['unet', 'fp32', 'cpu', true],
    ['vae_decoder', 'fp32', 'cpu', true],
  ]);
  const unet = mine.find((g) => g.component === 'unet')!;
  const removed = await supervisor.request(removeCacheRequest, { ids: [unet.id, 'not/an-entry'] });
  assert.deepEqual(removed, { removed: [unet.id], unknown: ['not/an-entry'], freedBytes: unet.bytes });
  const after = await supervisor.request(listCacheRequest, {});
  assert.deepEqual(after.graphs.filter((g) => g.model === model).map((g) => g.component), ['text_encoder', 'vae_decoder']);
  const bad = await rejection(supervisor.request(removeCacheRequest, { ids: '../..' } as unknown as { ids: string[] }));
  assert.equal(bad.code, 'invalidParams');
  // Converted again when needed.
  const again = await queue.generate('after removal', { options: options({ steps: 1 }), outputDir: await mkdtemp(join(harness.scratch, 'out-')) }).result;
  assert.equal(again.images.length, 1);
});
