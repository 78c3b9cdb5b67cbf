// The graph builder's layers, each written to a real .onnx file with external-data weights and run
// by onnxruntime-node, against the same arithmetic done directly in JavaScript (float64).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { GraphBuilder, type AttentionMode, type LinearMode, type ResolvedWeight } from '../runtime/onnx/graphBuilder.ts';
import { decodeModel, encodeModel } from '../runtime/onnx/onnxSchema.ts';
import { openSafetensors } from '../runtime/safetensors/safetensorsFile.ts';
import { writeSafetensorsTensors } from '../runtime/safetensors/safetensorsWriter.ts';
import { createGaussianNoise } from '../runtime/pipeline/gaussianNoise.ts';
import { removeTempDirs, tempDir } from './onnxTestSupport.ts';

after(removeTempDirs);

const noise = createGaussianNoise(7);
const randn = (n: number) => Float32Array.from(noise.randn(n));

/** Writes `weights` next to a graph built by `build`, and returns a session for it. */
async function buildAndLoad(
  weights: Record<string, { shape: number[]; data: Float32Array }>,
  build: (b: GraphBuilder) => void,
  linearMode: LinearMode = 'matmul',
  attentionMode: AttentionMode = 'plain',
) {
  const dir = await tempDir();
  await writeSafetensorsTensors(
    join(dir, 'w.safetensors'),
    Object.fromEntries(Object.entries(weights).map(([k, v]) => [k, { dtype: 'F32' as const, shape: v.shape, data: v.data }])),
  );
  const file = await openSafetensors(join(dir, 'w.safetensors'));
  const resolved = new Map<string, ResolvedWeight>();
  for (const t of file.tensors.values()) {
    resolved.set(t.name, { dtype: 'float32', shape: t.shape, location: 'w.safetensors', offset: t.byteOffset, length: t.byteLength });
  }
  await file.close();
  const b = new GraphBuilder({ name: 't', computeType: 'float32', linearMode, attentionMode, weights: (n) => resolved.get(n)! });
  build(b);
  const bytes = encodeModel(b.toModel());
  await writeFile(join(dir, 'm.onnx'), bytes);
  return { session: await ort.InferenceSession.create(join(dir, 'm.onnx')), bytes };
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tolerance, `index ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

for (const mode of ['matmul', 'gemm'] as const) {
  test(`linear (${mode}) on [B, S, in] with a PyTorch [out, in] weight`, async () => {
    const [batch, seq, inF, outF] = [2, 3, 5, 4];
    const w = randn(outF * inF);
    const bias = randn(outF);
    const x = randn(batch * seq * inF);
    const { session } = await buildAndLoad({ 'fc.weight': { shape: [outF, inF], data: w }, 'fc.bias': { shape: [outF], data: bias } }, (b) => {
      const input = b.input('x', 'float32', ['batch', 'seq', inF]);
      b.output(b.linear(input, 'fc'), 'y', 'float32', ['batch', 'seq', outF]);
    }, mode);
    const y = (await session.run({ x: new ort.Tensor('float32', x, [batch, seq, inF]) })).y!;
    assert.deepEqual(y.dims, [batch, seq, outF]);
    const expected = new Float64Array(batch * seq * outF);
    for (let r = 0; r < batch * seq; r++) {
      for (let o = 0; o < outF; o++) {
        let sum = bias[o]!;
        for (let i = 0; i < inF; i++) sum += x[r * inF + i]! * w[o * inF + i]!;
        expected[r * outF + o] = sum;
      }
    }
    assertClose(y.data as Float32Array, expected, 1e-5);
  });
}

test('gelu (erf) and quickGelu (CLIP quick_gelu) match their formulas', async () => {
  const x = Float32Array.from({ length: 41 }, (_, i) => (i - 20) / 4);
  const { session } = await buildAndLoad({}, (b) => {
    const input = b.input('x', 'float32', [x.length]);
    b.output(b.gelu(input), 'gelu', 'float32', [x.length]);
    b.output(b.quickGelu(input), 'quick', 'float32', [x.length]);
  });
  const out = await session.run({ x: new ort.Tensor('float32', x, [x.length]) });
  // erf by Abramowitz-Stegun 7.1.26 is only good to 1.5e-7, so compare against a series instead.
  const erf = (z: number) => {
    let sum = 0;
    let term = z;
    for (let n = 0; n < 200; n++) {
      sum += term / (2 * n + 1);
      term *= (-z * z) / (n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  };
  assertClose(out.gelu!.data as Float32Array, Array.from(x, (v) => 0.5 * v * (1 + erf(v / Math.SQRT2))), 1e-5);
  assertClose(out.quick!.data as Float32Array, Array.from(x, (v) => v / (1 + Math.exp(-1.702 * v))), 1e-5);
});

test('groupNorm matches GroupNorm(groups, C) with affine weights', async () => {
  const [batch, channels, h, w, groups, eps] = [2, 6, 3, 4, 3, 1e-5];
  const gamma = randn(channels);
  const beta = randn(channels);
  const x = randn(batch * channels * h * w).map((v, i) => v * 3 + (i % 7));
  const { session } = await buildAndLoad({ 'n.weight': { shape: [channels], data: gamma }, 'n.bias': { shape: [channels], data: beta } }, (b) => {
    b.output(b.groupNorm(b.input('x', 'float32', ['batch', channels, 'h', 'w']), 'n', groups, eps), 'y', 'float32', ['batch', channels, 'h', 'w']);
  });
  const y = (await session.run({ x: new ort.Tensor('float32', x, [batch, channels, h, w]) })).y!.data as Float32Array;
  const perGroup = (channels / groups) * h * w;
  const expected = new Float64Array(x.length);
  for (let n = 0; n < batch; n++) {
    for (let g = 0; g < groups; g++) {
      const start = (n * groups + g) * perGroup;
      let mean = 0;
      for (let i = 0; i < perGroup; i++) mean += x[start + i]!;
      mean /= perGroup;
      let variance = 0;
      for (let i = 0; i < perGroup; i++) variance += (x[start + i]! - mean) ** 2;
      variance /= perGroup;
      for (let i = 0; i < perGroup; i++) {
        const c = g * (channels / groups) + Math.floor(i / (h * w));
        expected[start + i] = ((x[start + i]! - mean) / Math.sqrt(variance + eps)) * gamma[c]! + beta[c]!;
      }
    }
  }
  assertClose(y, expected, 1e-4);
});

test('upsampleNearest to a skip connection of odd size picks floor(i * in / out), like F.interpolate(size=...)', async () => {
  const x = Float32Array.from({ length: 2 * 3 }, (_, i) => i);
  const { session } = await buildAndLoad({}, (b) => {
    const input = b.input('x', 'float32', [1, 1, 2, 3]);
    const like = b.input('like', 'float32', [1, 1, 'h', 'w']);
    b.output(b.upsampleNearest(input, 'up', like), 'y', 'float32', [1, 1, 'h', 'w']);
  });
  const y = (await session.run({ x: new ort.Tensor('float32', x, [1, 1, 2, 3]), like: new ort.Tensor('float32', new Float32Array(4 * 5), [1, 1, 4, 5]) })).y!;
  assert.deepEqual(y.dims, [1, 1, 4, 5]);
  const expected: number[] = [];
  for (let r = 0; r < 4; r++) for (let c = 0; c < 5; c++) expected.push(Math.floor((r * 2) / 4) * 3 + Math.floor((c * 3) / 5));
  assert.deepEqual(Array.from(y.data as Float32Array), expected);
});

for (const [attentionMode, masked] of [['plain', true], ['plain', false], ['fused', false]] as const) {
  test(`${masked ? 'causal' : 'unmasked'} attention (${attentionMode}): softmax(q k^T / sqrt(d) + mask) v per head`, async () => {
    const [seq, heads, headDim] = [3, 2, 2];
    const q = randn(seq * heads * headDim);
    const k = randn(seq * heads * headDim);
    const v = randn(seq * heads * headDim);
    const { session, bytes } = await buildAndLoad({}, (b) => {
      const inputs = ['q', 'k', 'v'].map((n) => b.input(n, 'float32', [1, seq, heads * headDim]));
      const mask = masked ? b.floats([0, -Infinity, -Infinity, 0, 0, -Infinity, 0, 0, 0], [seq, seq]) : undefined;
      b.output(b.attentionCore(inputs[0]!, inputs[1]!, inputs[2]!, heads, headDim, 'attn', mask), 'y', 'float32', [1, seq, heads * headDim]);
    }, 'matmul', attentionMode);
    const opTypes = decodeModel(bytes).graph.node.map((n) => n.opType);
    assert.equal(opTypes.includes('MultiHeadAttention'), attentionMode === 'fused');
    const feeds = { q: new ort.Tensor('float32', q, [1, seq, 4]), k: new ort.Tensor('float32', k, [1, seq, 4]), v: new ort.Tensor('float32', v, [1, seq, 4]) };
    const y = (await session.run(feeds)).y!.data as Float32Array;
    const expected = new Float64Array(seq * heads * headDim);
    const at = (t: Float32Array, s: number, h: number, d: number) => t[s * heads * headDim + h * headDim + d]!;
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < seq; i++) {
        const visible = masked ? i + 1 : seq;
        const scores = Array.from({ length: visible }, (_, j) => {
          let dot = 0;
          for (let d = 0; d < headDim; d++) dot += at(q, i, h, d) * at(k, j, h, d);
          return dot / Math.sqrt(headDim);
        });
        const max = Math.max(...scores);
        const weights = scores.map((s) => Math.exp(s - max));
        const total = weights.reduce((a, b) => a + b, 0);
        for (let d = 0; d < headDim; d++) {
          expected[i * heads * headDim + h * headDim + d] = weights.reduce((sum, w, j) => sum + (w / total) * at(v, j, h, d), 0);
        }
      }
    }
    assertClose(y, expected, 1e-5);
  });
}

test('the written model declares external data, opset and symbolic dims as the ONNX spec says', async () => {
  const { bytes } = await buildAndLoad({ 'c.weight': { shape: [2, 1, 1, 1], data: randn(2) }, 'c.bias': { shape: [2], data: randn(2) } }, (b) => {
    b.output(b.conv2d(b.input('x', 'float32', ['batch', 1, 'height', 'width']), 'c'), 'y', 'float32', ['batch', 2, 'height', 'width']);
  });
  const model = decodeModel(bytes);
  assert.equal(model.irVersion, 8);
  assert.deepEqual(model.opsetImport.map((o) => [o.domain ?? '', o.version]), [['', 17]]);
  const weight = model.graph.initializer.find((t) => t.name === 'c.weight')!;
  assert.equal(weight.dataLocation, 1);
  assert.deepEqual(Object.fromEntries(weight.externalData!.map((e) => [e.key, e.value])).location, 'w.safetensors');
  assert.deepEqual(model.graph.input[0]!.type.tensorType.shape.dim.map((d) => d.dimParam ?? d.dimValue), ['batch', 1, 'height', 'width']);
});
