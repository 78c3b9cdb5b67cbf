// The one limits table (runtime/protocol/limits.ts) at each boundary: package.json's settings, the
// runtime server (descriptor-carried validators), the webview protocol, the host's size parser and
// the schedulers at the largest step count. Numbers come from the table, never from this file.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkSize } from '../extension/jobs/imagePresets.ts';
import { RuntimeServer, type MessagePort } from '../runtime/process/runtimeServer.ts';
import { schedulerNames } from '../runtime/protocol/generationTypes.ts';
import { imageSeed, limits, randomSeed, startImageOutputSize, withinLimit, type NumberLimit } from '../runtime/protocol/limits.ts';
import {
  cancelRequestNotification,
  drawTextRequest,
  exportImageRequest,
  fixTextRequest,
  generateOptionsValidator,
  generateImageRequest,
  removeCacheRequest,
  type GenerateImageParams,
  type WireMessage,
} from '../runtime/protocol/runtimeProtocol.ts';
import { isPixelBox } from '../runtime/protocol/paramsValidation.ts';
import { createGaussianNoise } from '../runtime/pipeline/gaussianNoise.ts';
import { createScheduler } from '../runtime/schedulers/createScheduler.ts';
import { isGenerationRequest, type GenerationRequest } from '../webview/protocol.ts';
import { tinyModelDir } from './fixturePaths.ts';
import { boundaryValues, numberLimitCases, textLimitCases } from './limitCases.ts';

const validParams: GenerateImageParams = {
  jobId: 'job-1',
  outputDir: '/tmp/out',
  options: { modelDir: '/models/tiny', prompt: 'a sign that says "OPEN"', steps: 4, guidanceScale: 7.5, width: 512, height: 512, seed: 1, numImages: 1 },
  legibility: { target: 'OPEN', candidates: 1, exactFallback: false, keepCandidates: false },
};

function withField(path: readonly [string, string], value: unknown, base: GenerateImageParams = validParams): GenerateImageParams {
  const params = structuredClone(base) as unknown as Record<string, Record<string, unknown>>;
  params[path[0]]![path[1]] = value;
  return params as unknown as GenerateImageParams;
}

/** A RuntimeServer on an in-memory port, with a generate handler that records what reached it. */
function serverHarness(handle: (params: unknown, signal: AbortSignal) => Promise<unknown> = async () => ({ ok: true })) {
  const sent: WireMessage[] = [];
  let deliver: (message: unknown) => void = () => {};
  const port: MessagePort = { send: (m) => sent.push(m), onMessage: (listener) => (deliver = listener) };
  const server = new RuntimeServer(port);
  const reached: unknown[] = [];
  server.onRequest(generateImageRequest, async (params, { signal }) => {
    reached.push(params);
    return (await handle(params, signal)) as never;
  });
  let nextId = 1;
  return {
    server,
    reached,
    async call(params: unknown): Promise<{ result?: unknown; error?: { code: string; message: string } }> {
      const id = nextId++;
      deliver({ type: 'request', id, method: generateImageRequest.method, params });
      for (let i = 0; i < 100; i++) {
        const answer = sent.find((m) => m.type === 'response' && m.id === id);
        if (answer && answer.type === 'response') return answer;
        await new Promise((r) => setImmediate(r));
      }
      throw new Error('no answer');
    },
    deliver: (message: unknown) => deliver(message),
    sent,
  };
}

test("package.json's settings have the table's minimum and maximum", async () => {
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
  const properties = pkg.contributes.configuration.properties as Record<string, { type: string; minimum?: number; maximum?: number }>;
  const settings: Array<[string, NumberLimit, number?]> = [
    ['letterpress.steps', limits.steps],
    ['letterpress.guidanceScale', limits.guidanceScale],
    ['letterpress.candidates', limits.candidates],
    ['letterpress.idleUnloadMinutes', limits.idleUnloadMinutes],
    ['letterpress.textLayoutStrength', limits.layoutStrength],
    // -1 stands for "a new random seed for every image".
    ['letterpress.seed', limits.seed, -1],
  ];
  for (const [key, limit, minimum = limit.min] of settings) {
    const property = properties[key];
    assert.ok(property, `${key} is contributed`);
    assert.equal(property.minimum, minimum, `${key} minimum`);
    assert.equal(property.maximum, limit.max, `${key} maximum`);
    assert.equal(property.type, limit.integer ? 'integer' : 'number', `${key} type`);
  }
});

test('runtime server: the largest valid value of each limit reaches the handler, the first invalid one is refused with the field and the limit', async () => {
  const harness = serverHarness();
  for (const { path, limit } of numberLimitCases) {
    const { maxOk, aboveMax, minOk, belowMin } = boundaryValues(limit);
    // Best of N keeps one image: the image count is tried without the legibility options.
    const base = path[1] === 'numImages' ? { ...validParams, legibility: undefined } : validParams;
    for (const ok of [maxOk, minOk]) {
      const answer = await harness.call(withField(path, ok, base));
      assert.equal(answer.error, undefined, `${path.join('.')} = ${ok}: ${answer.error?.message}`);
    }
    for (const bad of [aboveMax, belowMin, Number.NaN, '7']) {
      const before = harness.reached.length;
      const answer = await harness.call(withField(path, bad, base));
      assert.equal(answer.error?.code, 'invalidParams', `${path.join('.')} = ${bad}`);
      assert.match(answer.error!.message, new RegExp(`^${path.join('\\.')} must be .*from ${limit.min} to ${limit.max}, got `), String(bad));
      assert.ok(!answer.error!.message.includes('\n'), 'one line');
      assert.equal(harness.reached.length, before, 'the handler never saw it');
    }
  }
  for (const { path, maxChars } of textLimitCases) {
    const ok = await harness.call(withField(path, 'A'.repeat(maxChars)));
    assert.equal(ok.error, undefined, `${path.join('.')} of ${maxChars} characters: ${ok.error?.message}`);
    const bad = await harness.call(withField(path, 'A'.repeat(maxChars + 1)));
    assert.equal(bad.error?.code, 'invalidParams');
    assert.match(bad.error!.message, new RegExp(`^${path.join('\\.')} is ${maxChars + 1} characters long; at most ${maxChars}`));
  }
});

test('runtime server: enums, paths, missing fields and cross-field rules are refused before any handler', async () => {
  const harness = serverHarness();
  const cases: Array<[unknown, RegExp]> = [
    [undefined, /^params must be an object/],
    [{ ...validParams, jobId: '' }, /^jobId is empty/],
    [{ ...validParams, outputDir: 'relative/out' }, /^outputDir must be an absolute path/],
    [withField(['options', 'scheduler'], 'heun'), /^options\.scheduler must be one of ddim, pndm/],
    [withField(['options', 'device'], 'tpu'), /^options\.device must be one of auto, cpu/],
    [withField(['options', 'prompt'], undefined), /^options\.prompt must be text/],
    [withField(['legibility', 'position'], 'left'), /^legibility\.position must be one of top, centre, bottom/],
    [withField(['legibility', 'target'], ' \\n '), /^legibility\.target is empty/],
    [withField(['options', 'numImages'], 2, { ...validParams, legibility: { ...validParams.legibility!, candidates: 4 } }), /^legibility\.candidates must be 1 with the exact-text fallback off when several images/],
    [withField(['legibility', 'layout'], 'sometimes'), /^legibility\.layout must be one of off, auto, always/],
    [withField(['legibility', 'layoutStrength'], 1.5), /^legibility\.layoutStrength must be a number from 0.05 to 1, got 1.5/],
    [withField(['legibility', 'layoutStrength'], 0.01), /^legibility\.layoutStrength must be a number from 0.05 to 1, got 0.01/],
    [withField(['options', 'numImages'], 2, { ...validParams, legibility: { ...validParams.legibility!, layout: 'auto' } }), /^legibility\.layout must be off when several images are asked for/],
    [withField(['options', 'initImage'], '/tmp/start.png', { ...validParams, legibility: { ...validParams.legibility!, layout: 'always' } }), /^legibility\.layout must be off when generating from a start image/],
  ];
  for (const [params, message] of cases) {
    const answer = await harness.call(params);
    assert.equal(answer.error?.code, 'invalidParams', String(message));
    assert.match(answer.error!.message, message);
  }
  assert.equal(harness.reached.length, 0);
  const fine = await harness.call(withField(['options', 'numImages'], 2, { ...validParams, legibility: { ...validParams.legibility!, candidates: 1 } }));
  assert.equal(fine.error, undefined, 'several images, each only scored');
});

test('runtime server: any request can be cancelled by its id; unknown and finished ids are ignored', async () => {
  const harness = serverHarness(
    (_params, signal) =>
      new Promise((resolve, reject) => {
        signal.addEventListener('abort', () => reject(Object.assign(new Error('stopped'), { name: 'AbortError' })));
        setTimeout(resolve, 5000, { late: true }).unref();
      }),
  );
  const answer = harness.call(validParams);
  await new Promise((r) => setImmediate(r));
  assert.equal(harness.server.requestCount, 1);
  harness.deliver({ type: 'notification', method: cancelRequestNotification.method, params: { id: 999 } });
  harness.deliver({ type: 'notification', method: cancelRequestNotification.method, params: { id: 'one' } });
  assert.equal(harness.server.requestCount, 1, 'an unknown or malformed id cancels nothing');
  harness.deliver({ type: 'notification', method: cancelRequestNotification.method, params: { id: 1 } });
  const { error } = await answer;
  assert.equal(error?.code, 'cancelled');
  assert.equal(harness.server.requestCount, 0);
});

test('webview protocol: the form request takes the largest valid value of each limit and refuses the first invalid one', () => {
  const request: GenerationRequest = {
    prompt: 'a sign that says "OPEN"',
    negativePrompt: '',
    width: 512,
    height: 512,
    steps: 25,
    guidanceScale: 7.5,
    seed: 1,
    numImages: 1,
    candidates: 1,
  };
  for (const { field, limit } of numberLimitCases) {
    if (field === 'batchSize') continue; // the form has no batch size: the runtime picks it
    const { maxOk, aboveMax, minOk, belowMin } = boundaryValues(limit);
    for (const ok of [maxOk, minOk]) assert.ok(isGenerationRequest({ ...request, [field]: ok }), `${field} = ${ok}`);
    for (const bad of [aboveMax, belowMin]) assert.ok(!isGenerationRequest({ ...request, [field]: bad }), `${field} = ${bad}`);
  }
  const textFields = { prompt: 'prompt', negativePrompt: 'negativePrompt', target: 'text' } as const;
  for (const { field, maxChars } of textLimitCases) {
    const key = textFields[field];
    assert.ok(isGenerationRequest({ ...request, [key]: 'A'.repeat(maxChars) }), `${key} of ${maxChars}`);
    assert.ok(!isGenerationRequest({ ...request, [key]: 'A'.repeat(maxChars + 1) }), `${key} of ${maxChars + 1}`);
  }
});

test("the host's size parser takes the table's largest side and refuses the next multiple", () => {
  const { min, max, multipleOf } = limits.side;
  assert.deepEqual(checkSize(max, min), { width: max, height: min });
  assert.ok('error' in checkSize(max + multipleOf, 512));
  assert.ok('error' in checkSize(512, min - multipleOf));
  assert.ok('error' in checkSize(512 + 1, 512));
});

test('draw text: the target within the table passes, one character more is refused', () => {
  const params = { jobId: 'j', input: '/tmp/a.png', outputDir: '/tmp', target: 'A'.repeat(limits.targetText.maxChars) };
  assert.equal(drawTextRequest.validate(params, []), undefined);
  assert.match(drawTextRequest.validate({ ...params, target: `${params.target}A` }, [])?.problem ?? '', /at most 200/);
  assert.match(drawTextRequest.validate({ ...params, input: 'a.png' }, [])?.problem ?? '', /absolute path/);
});

test('fix text: the model part within the table passes; candidates, strength, device and a relative model folder outside it are refused; a box is four non-negative numbers', () => {
  const params = { jobId: 'j', input: '/tmp/a.png', outputDir: '/tmp', target: 'OPEN', model: { modelDir: '/models/sd2', candidates: limits.candidates.max, strength: limits.layoutStrength.max } };
  assert.equal(fixTextRequest.validate(params, []), undefined);
  assert.equal(fixTextRequest.validate({ ...params, model: undefined }, []), undefined, 'no model: the plate alone');
  const refused = (model: Record<string, unknown>) => fixTextRequest.validate({ ...params, model: { ...params.model, ...model } }, []);
  assert.deepEqual(refused({ candidates: limits.candidates.max + 1 })?.path, ['model', 'candidates']);
  assert.deepEqual(refused({ strength: limits.layoutStrength.min / 2 })?.path, ['model', 'strength']);
  assert.deepEqual(refused({ device: 'tpu' })?.path, ['model', 'device']);
  assert.match(refused({ modelDir: 'sd2' })?.problem ?? '', /absolute path/);
  assert.match(fixTextRequest.validate({ ...params, target: ' ' }, [])?.problem ?? '', /is empty/);
  assert.ok(isPixelBox({ left: 0, top: 2.5, width: 10, height: 4 }));
  for (const bad of [null, [], { left: 0, top: 0, width: 10 }, { left: -1, top: 0, width: 10, height: 4 }, { left: 0, top: 0, width: Number.NaN, height: 4 }, { left: '0', top: 0, width: 1, height: 1 }]) {
    assert.ok(!isPixelBox(bad), JSON.stringify(bad));
  }
});

test('image seeds: seed + index, wrapping past the largest seed to 0, always a valid seed', () => {
  const top = limits.seed.max;
  assert.equal(top, 2 ** 32 - 1);
  assert.deepEqual([0, 1, 2, 3].map((i) => imageSeed(top, i)), [top, 0, 1, 2]);
  assert.deepEqual([0, 1, 7].map((i) => imageSeed(42, i)), [42, 43, 49]);
  assert.equal(imageSeed(top - 2, 2), top, 'the last seed before the wrap');
  // The most a job reaches: best of N's candidates over every phase (3 × 16) from the largest seed.
  for (let i = 0; i < 3 * limits.candidates.max; i++) assert.ok(withinLimit(limits.seed, imageSeed(top - 5, i)), String(i));
});

test('random seeds: the lowest and highest 32-bit draws give the first and last seed; real draws are valid seeds', () => {
  const drawing = (...draws: number[]) => (words: Uint32Array) => {
    words[0] = draws.shift() ?? assert.fail('drew more words than given');
  };
  assert.equal(randomSeed(drawing(0)), limits.seed.min);
  assert.equal(randomSeed(drawing(2 ** 32 - 1)), limits.seed.max);
  assert.equal(randomSeed(drawing(123_456_789)), limits.seed.min + 123_456_789);
  const drawn = Array.from({ length: 2000 }, () => randomSeed());
  for (const seed of drawn) assert.ok(withinLimit(limits.seed, seed), String(seed));
  // Over the whole range, not a 31-bit or 16-bit slice of it: 2000 draws all below 2^31 has odds 2^-2000.
  assert.ok(drawn.some((seed) => seed > 2 ** 31), 'some seed in the upper half');
  assert.ok(new Set(drawn).size > 1990, 'draws differ');
});

test('cache removal: the table\'s longest id and most ids pass; one character or one id more is refused', () => {
  const { maxChars } = limits.cacheEntryId;
  const id = 'm'.repeat(maxChars);
  assert.equal(removeCacheRequest.validate({ ids: [id] }, []), undefined);
  assert.deepEqual(removeCacheRequest.validate({ ids: ['a/b', `${id}m`] }, [])?.path, ['ids', 1]);
  assert.deepEqual(removeCacheRequest.validate({ ids: [''] }, [])?.path, ['ids', 0]);
  const most = Array.from({ length: limits.cacheEntriesPerRemoval }, (_, i) => `model/graph-${i}`);
  assert.equal(removeCacheRequest.validate({ ids: most }, []), undefined);
  assert.match(removeCacheRequest.validate({ ids: [...most, 'one/more'] }, [])?.problem ?? '', new RegExp(`at most ${limits.cacheEntriesPerRemoval} `));
});

test('export: the tolerance within the table passes, the next hair above and below is refused', () => {
  const params = { jobId: 'j', preset: 'icons', input: '/tmp/a.png', outputDir: '/tmp/out', transparent: true };
  const { maxOk, aboveMax, minOk, belowMin } = boundaryValues(limits.exportTolerance);
  for (const ok of [maxOk, minOk]) assert.equal(exportImageRequest.validate({ ...params, tolerance: ok }, []), undefined, String(ok));
  for (const bad of [aboveMax, belowMin]) assert.deepEqual(exportImageRequest.validate({ ...params, tolerance: bad }, [])?.path, ['tolerance'], String(bad));
});

test('a start image’s output size: its own rounded down to multiples of 8, scaled to fit the side limits; a drawn region must lie inside and go with a start image', () => {
  assert.deepEqual(startImageOutputSize({ width: 300, height: 203 }), { width: 296, height: 200 });
  assert.deepEqual(startImageOutputSize({ width: 4096, height: 1024 }), { width: limits.side.max, height: 512 });
  assert.deepEqual(startImageOutputSize({ width: 20, height: 40 }), { width: limits.side.min, height: 128 });
  const options = { modelDir: '/m', prompt: 'p', steps: 4, guidanceScale: 7, width: 256, height: 128, seed: 1, initImage: '/ws/a.png', maskBox: { left: 0, top: 64, width: 256, height: 64 } };
  assert.equal(generateOptionsValidator(options, []), undefined);
  assert.match(generateOptionsValidator({ ...options, maskBox: { left: 8, top: 64, width: 256, height: 64 } }, [])?.problem ?? '', /outside the 256×128 image/);
  assert.match(generateOptionsValidator({ ...options, initImage: undefined }, [])?.problem ?? '', /needs a start image/);
  assert.match(generateOptionsValidator({ ...options, mask: '/ws/m.png' }, [])?.problem ?? '', /not both|one or the other/);
  assert.match(generateOptionsValidator({ ...options, workspaceDir: 'relative' }, [])?.problem ?? '', /absolute path/);
});

test('every scheduler runs the largest step count on the 1000-timestep fixture schedule, with finite samples', async () => {
  const config = JSON.parse(await readFile(join(tinyModelDir, 'scheduler', 'scheduler_config.json'), 'utf8'));
  for (const name of schedulerNames) {
    const scheduler = createScheduler(name, config);
    scheduler.setTimesteps(limits.steps.max);
    // PNDM's PLMS warm-up calls the model once more than the steps asked for.
    assert.ok(scheduler.timesteps.length >= limits.steps.max, name);
    const noise = createGaussianNoise(7);
    let sample: Float32Array = new Float32Array(16).fill(1);
    for (const t of scheduler.timesteps) {
      const input = scheduler.scaleModelInput(sample, t);
      sample = scheduler.step(input.map((v) => 0.1 * v), t, sample, noise);
    }
    assert.ok(sample.every(Number.isFinite), `${name}: finite after ${limits.steps.max} steps`);
  }
});
