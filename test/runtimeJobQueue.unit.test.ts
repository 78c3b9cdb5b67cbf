// The runtime's one queue (runtime/process/runtimeHandlers.ts): jobs and model changes run one after
// another in the order the host sent them, a cancelled job finishes its step before the next starts,
// and the generator is never entered twice. A fake generator (the real one is tested in
// pipelineGenerator.int.test.ts) records what overlaps.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ImageGeneratorLike } from '../runtime/jobs/generateImageJob.ts';
import { registerRuntimeHandlers, type RuntimeServices } from '../runtime/process/runtimeHandlers.ts';
import { RuntimeServer, type MessagePort } from '../runtime/process/runtimeServer.ts';
import type { GenerateOptions } from '../runtime/protocol/generationTypes.ts';
import { cancelJobRequest, generateImageRequest, unloadModelRequest, type WireMessage } from '../runtime/protocol/runtimeProtocol.ts';

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'letterpress-runtime-queue-'));
});
after(() => rm(scratch, { recursive: true, force: true }));

/** A generator that takes `stepMs` per call, ignores cancellation until its "step" is done, and logs. */
function fakeGenerator(log: string[], stepMs: number) {
  let active = 0;
  let maxActive = 0;
  const generator: ImageGeneratorLike = {
    async generate(options: GenerateOptions, hooks) {
      active++;
      maxActive = Math.max(maxActive, active);
      log.push(`start ${options.seed}`);
      await sleep(stepMs);
      active--;
      log.push(`end ${options.seed}`);
      hooks?.signal?.throwIfAborted();
      return {
        images: [{ seed: options.seed, width: 64, height: 64, parameters: '', png: async () => Buffer.from('png') }],
        provider: 'cpu',
        providerNote: '',
        timingsMs: {},
      } as unknown as Awaited<ReturnType<ImageGeneratorLike['generate']>>;
    },
    async unload() {
      log.push(`unload (active ${active})`);
    },
    async dispose() {},
  };
  return { generator, maxActive: () => maxActive };
}

/** The handlers behind an in-memory port: `request` sends like the host does and resolves with the response. */
function runtimeWith(generator: ImageGeneratorLike) {
  let deliver!: (message: unknown) => void;
  const pending = new Map<number, (message: WireMessage) => void>();
  const port: MessagePort = {
    send: (message) => {
      if (message.type === 'response') pending.get(message.id)?.(message);
    },
    onMessage: (listener) => (deliver = listener),
  };
  const services = {
    createGenerator: () => generator,
    createOcrReader: () => ({ close: async () => {} }),
  } as unknown as RuntimeServices;
  registerRuntimeHandlers(new RuntimeServer(port), services);
  let nextId = 1;
  const request = (method: string, params: unknown) =>
    new Promise<WireMessage>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      deliver({ type: 'request', id, method, params });
    });
  return { request };
}

const options = (seed: number): GenerateOptions => ({ modelDir: scratch, prompt: 'a sign', steps: 1, guidanceScale: 7.5, width: 64, height: 64, seed, numImages: 1, device: 'cpu' });

test('jobs and an unload run one after another, in the order sent; the generator is never entered twice', async () => {
  const log: string[] = [];
  const fake = fakeGenerator(log, 40);
  const runtime = runtimeWith(fake.generator);
  const outputDir = await mkdtemp(join(scratch, 'out-'));
  const answers = await Promise.all([
    runtime.request(generateImageRequest.method, { jobId: 'a', options: options(1), outputDir }),
    runtime.request(generateImageRequest.method, { jobId: 'b', options: options(2), outputDir }),
    runtime.request(unloadModelRequest.method, {}),
    runtime.request(generateImageRequest.method, { jobId: 'c', options: options(3), outputDir }),
  ]);
  for (const answer of answers) assert.ok(answer.type === 'response' && !answer.error, JSON.stringify(answer));
  assert.deepEqual(log, ['start 1', 'end 1', 'start 2', 'end 2', 'unload (active 0)', 'start 3', 'end 3']);
  assert.equal(fake.maxActive(), 1);
});

test('a cancelled job finishes its step before the next job starts', async () => {
  const log: string[] = [];
  const fake = fakeGenerator(log, 80);
  const runtime = runtimeWith(fake.generator);
  const outputDir = await mkdtemp(join(scratch, 'out-'));
  const first = runtime.request(generateImageRequest.method, { jobId: 'first', options: options(10), outputDir });
  await sleep(10);
  await runtime.request(cancelJobRequest.method, { jobId: 'first' });
  const second = runtime.request(generateImageRequest.method, { jobId: 'second', options: options(11), outputDir });
  const [cancelled, done] = await Promise.all([first, second]);
  assert.equal(cancelled.type === 'response' && cancelled.error?.code, 'cancelled');
  assert.ok(done.type === 'response' && !done.error);
  assert.deepEqual(log, ['start 10', 'end 10', 'start 11', 'end 11']);
  assert.equal(fake.maxActive(), 1);
});
