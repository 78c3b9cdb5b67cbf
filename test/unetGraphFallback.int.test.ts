// The fused UNet graph falls back to the plain one when its session cannot be created or its first
// run fails, and says so (notes, the provider note, a warning to the running job). Real ONNX Runtime
// sessions on the CPU provider: the fused graph's contrib kernels (GroupNorm, SkipGroupNorm,
// BiasSplitGelu) have no CPU implementation, so asking the CPU for it is a real creation failure;
// a first-run failure is a real session of another graph (the provider probe's), handed out by an
// injected session factory, failing on the UNet's inputs.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { InferenceSession } from 'onnxruntime-node';
import type { GenerateOptions, ProgressEvent } from '../runtime/protocol/generationTypes.ts';
import { ImageGenerator } from '../runtime/pipeline/imageGenerator.ts';
import { loadModelSessions, type ModelSessions, type SessionFactory } from '../runtime/pipeline/modelSessions.ts';
import { buildProbeModel } from '../runtime/pipeline/probeModel.ts';
import { createGaussianNoise } from '../runtime/pipeline/gaussianNoise.ts';
import { tinyModelDir } from './fixturePaths.ts';
import { maxAbsDiff } from './floatDifference.ts';

const noise = createGaussianNoise(5);
const shape = [2, 4, 8, 8] as const;
const sample = Float32Array.from(noise.randn(2 * 4 * 8 * 8));
const embeddings = Float32Array.from(noise.randn(2 * 77 * 32));

async function unetOutput(sessions: ModelSessions): Promise<Float32Array> {
  return sessions.predictNoise(sample, shape, 500, embeddings, 77);
}

let plainOutput: Promise<Float32Array> | null = null;
/** What the plain graph computes for the same input (the fallback must give exactly this). */
function plainReference(): Promise<Float32Array> {
  plainOutput ??= (async () => {
    const sessions = await loadModelSessions(tinyModelDir, 'cpu', false, {}, { graph: 'plain' });
    try {
      assert.equal(sessions.unetGraph, 'plain');
      assert.equal(sessions.graphFallback, undefined);
      return await unetOutput(sessions);
    } finally {
      await sessions.release();
    }
  })();
  return plainOutput;
}

test('a fused graph whose session cannot be created: the plain graph is loaded instead, with a note', async () => {
  const said: string[] = [];
  const sessions = await loadModelSessions(tinyModelDir, 'cpu', false, {}, { graph: 'fused', onNote: (text) => said.push(text) });
  try {
    assert.equal(sessions.unetGraph, 'plain');
    assert.match(sessions.graphFallback ?? '', /^the fused UNet graph failed on CPU when its session was created \(.*(GroupNorm|BiasSplitGelu).*\); using the plain graph$/);
    assert.deepEqual(said, [sessions.graphFallback]);
    assert.ok(sessions.notes.includes(sessions.graphFallback!));
    assert.equal(maxAbsDiff(await unetOutput(sessions), await plainReference()), 0);
  } finally {
    await sessions.release();
  }
});

test("a fused graph whose first run fails: the plain graph takes over that very call, and later ones", async () => {
  const created: string[] = [];
  let handedOutWrongGraph = false;
  const createSession: SessionFactory = async (onnxPath, options) => {
    created.push(onnxPath);
    if (/unet-fp32-/.test(onnxPath) && !handedOutWrongGraph) {
      // A real session that loads but cannot run the UNet's inputs.
      handedOutWrongGraph = true;
      return InferenceSession.create(buildProbeModel(), options);
    }
    return InferenceSession.create(onnxPath, options);
  };
  const said: string[] = [];
  const sessions = await loadModelSessions(tinyModelDir, 'cpu', false, {}, { graph: 'fused', createSession, onNote: (text) => said.push(text) });
  try {
    assert.equal(sessions.unetGraph, 'fused', 'the session was created');
    assert.equal(sessions.graphFallback, undefined);
    const first = await unetOutput(sessions);
    assert.equal(sessions.unetGraph, 'plain');
    assert.match(sessions.graphFallback ?? '', /^the fused UNet graph failed on CPU on its first run \(.+\); using the plain graph$/);
    assert.deepEqual(said, [sessions.graphFallback]);
    const reference = await plainReference();
    assert.equal(maxAbsDiff(first, reference), 0);
    assert.equal(maxAbsDiff(await unetOutput(sessions), reference), 0);
    // The fused graph and then the plain one were loaded, each UNet once.
    const unets = created.filter((p) => /unet-fp32-/.test(p));
    assert.equal(unets.length, 2);
    assert.notEqual(unets[0], unets[1]);
  } finally {
    await sessions.release();
  }
});

test('a failure on a plain graph is not hidden: it is the caller\'s error', async () => {
  const createSession: SessionFactory = async (onnxPath, options) =>
    /unet-fp32-/.test(onnxPath) ? InferenceSession.create(buildProbeModel(), options) : InferenceSession.create(onnxPath, options);
  const sessions = await loadModelSessions(tinyModelDir, 'cpu', false, {}, { graph: 'plain', createSession });
  try {
    await assert.rejects(unetOutput(sessions));
    assert.equal(sessions.graphFallback, undefined);
  } finally {
    await sessions.release();
  }
});

const generator = new ImageGenerator({ idleUnloadMs: 0, graph: 'fused' });
after(() => generator.dispose());

test('generation says it: the provider note and the job\'s messages name the fallback; the image is the plain graph\'s', async () => {
  const options: GenerateOptions = {
    modelDir: tinyModelDir,
    modelName: 'tiny-sd2',
    prompt: 'a red sign that says OPEN',
    steps: 2,
    guidanceScale: 7.5,
    scheduler: 'ddim',
    width: 64,
    height: 64,
    seed: 3,
    device: 'cpu',
  };
  const events: ProgressEvent[] = [];
  const fused = await generator.generate(options, { onProgress: (e) => events.push(e) });
  assert.match(fused.providerNote, /^Running on CPU \(as set\); the fused UNet graph failed on CPU when its session was created \(.+\); using the plain graph$/);
  const messages = events.flatMap((e) => (e.status === 'message' ? [e.text] : []));
  assert.ok(messages.some((m) => /fused UNet graph failed on CPU/.test(m)), messages.join('\n'));

  const plainGenerator = new ImageGenerator({ idleUnloadMs: 0 });
  try {
    const plain = await plainGenerator.generate(options);
    assert.equal(plain.providerNote, 'Running on CPU (as set)');
    assert.equal(maxAbsDiff(fused.images[0]!.pixels, plain.images[0]!.pixels), 0);
  } finally {
    await plainGenerator.dispose();
  }
});
