// The fused UNet graph (runtime/onnx/graphFusions.ts) against the plain one and against diffusers, on
// the CPU provider for the fusions it has kernels for (Gemm, SkipLayerNormalization), and by its
// structure for those only GPU providers have (GroupNorm, SkipGroupNorm, BiasSplitGelu): what each
// fusion replaced is gone, what replaces it is there once per layer, no Cast but at the float32
// boundaries and no Gather anywhere. Their numerics are checked on a GPU by `npm run bench:agreement`.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ensureConvertedComponent } from '../runtime/onnx/convertModel.ts';
import { allFusions, countOpTypes, cpuFusions, noFusions, type GraphFusions } from '../runtime/onnx/graphFusions.ts';
import { unetArchitecture } from '../runtime/onnx/modelArchitecture.ts';
import {
  attributeType,
  decodeModel,
  encodeModel,
  tensorDataType,
  type AttributeProtoJson,
  type ModelProtoJson,
  type NodeProtoJson,
} from '../runtime/onnx/onnxSchema.ts';
import { assertAgrees, copyTinyModel, createSession, removeTempDirs, runComponent, useReferenceUnetWeights } from './onnxTestSupport.ts';

after(removeTempDirs);

// As test/convertComponents.int.test.ts: float32 on the CPU agrees with diffusers to 1e-4 of the
// reference's largest magnitude.
const float32Tolerance = 1e-4;
// Fused against plain, both float32 on the CPU: the same arithmetic in another order.
const fusedVsPlainTolerance = 1e-5;
// As test/convertComponents.int.test.ts for float16 graphs: a few float16 ulps over the network.
const float16Tolerance = 5e-3;

let referenceModel: Promise<string> | null = null;
function referenceModelDir(): Promise<string> {
  referenceModel ??= copyTinyModel().then(async (dir) => {
    await useReferenceUnetWeights(dir);
    return dir;
  });
  return referenceModel;
}

async function opCounts(onnxPath: string): Promise<Map<string, number>> {
  return countOpTypes(decodeModel(await readFile(onnxPath)).graph.node);
}

function describeCounts(counts: Map<string, number>): string {
  return [...counts].map(([op, n]) => `${op} ${n}`).join(', ');
}

describe('fusions the CPU provider runs: the same numbers as the plain graph and diffusers', () => {
  const cases: [string, Partial<GraphFusions>][] = [
    ['gemm', { gemm: true }],
    ['skipLayerNorm', { skipLayerNorm: true }],
    ['gemm + skipLayerNorm', cpuFusions],
  ];
  for (const [label, fusions] of cases) {
    test(`unet with ${label}`, async () => {
      const modelDir = await referenceModelDir();
      const plain = await createSession((await ensureConvertedComponent(modelDir, 'unet')).onnxPath);
      const fusedPath = (await ensureConvertedComponent(modelDir, 'unet', { fusions })).onnxPath;
      const fused = await createSession(fusedPath);
      const counts = await opCounts(fusedPath);
      if (fusions.gemm) assert.ok((counts.get('Gemm') ?? 0) > 0, describeCounts(counts));
      if (fusions.skipLayerNorm) assert.ok((counts.get('ms:SkipLayerNormalization') ?? 0) > 0, describeCounts(counts));
      for (const caseName of ['square', 'wide'] as const) {
        const { actual, expected } = await runComponent(fused, 'unet', caseName);
        const { actual: plainOut } = await runComponent(plain, 'unet', caseName);
        const vsDiffusers = assertAgrees(`unet ${label} ${caseName} vs diffusers`, actual, expected, float32Tolerance);
        const vsPlain = assertAgrees(`unet ${label} ${caseName} vs plain`, actual, plainOut, fusedVsPlainTolerance);
        console.log(
          `unet ${label} ${caseName}: max |fused - diffusers| ${vsDiffusers.maxError.toExponential(2)}, max |fused - plain| ${vsPlain.maxError.toExponential(2)} (largest value ${vsDiffusers.maxMagnitude.toFixed(3)})`,
        );
      }
      await Promise.all([plain.release(), fused.release()]);
    });
  }
});

test('float16 unet with the CPU fusions (LayerNorm and SkipLayerNormalization in float16, no Casts): within float16 tolerance', async () => {
  const modelDir = await referenceModelDir();
  const { onnxPath } = await ensureConvertedComponent(modelDir, 'unet', { fp16: true, fusions: cpuFusions });
  const counts = await opCounts(onnxPath);
  assert.ok((counts.get('ms:SkipLayerNormalization') ?? 0) > 0);
  const session = await createSession(onnxPath);
  for (const caseName of ['square', 'wide'] as const) {
    const { actual, expected } = await runComponent(session, 'unet', caseName);
    const result = assertAgrees(`unet fp16 ${caseName}`, actual, expected, float16Tolerance);
    console.log(`unet fp16 cpu fusions ${caseName}: max |fused - diffusers| ${result.maxError.toExponential(2)} (largest value ${result.maxMagnitude.toFixed(3)})`);
  }
  await session.release();
});

/**
 * The fused graph with each contrib kernel the CPU lacks written out in standard ops, as the kernel's
 * schema defines it (onnxruntime docs/ContribOperators.md): GroupNorm / SkipGroupNorm on channels-last
 * [B, H, W, C] (x + skip + bias, statistics over each group's H*W*C/G values, per-channel gamma and
 * beta, SiLU when activation is 1) and BiasSplitGelu ((x + bias) split in half along the last axis,
 * first half times the erf-GELU of the second). It checks everything the converter wires around those
 * kernels (channels-last views, transposes, the time embedding as a broadcast skip, folded biases)
 * on the CPU; the kernels' own numerics are checked on a GPU (npm run bench:agreement).
 */
function withContribOpsWrittenOut(model: ModelProtoJson): ModelProtoJson {
  const nodes: NodeProtoJson[] = [];
  const initializers = [...model.graph.initializer];
  let counter = 0;
  const fresh = (hint: string) => `reference/${hint}_${counter++}`;
  const constant = (dims: number[], data: Float32Array | BigInt64Array): string => {
    const name = fresh('const');
    const dataType = data instanceof Float32Array ? tensorDataType.float32 : tensorDataType.int64;
    initializers.push({ name, dims, dataType, rawData: new Uint8Array(data.buffer.slice(0)) });
    return name;
  };
  const ints = (values: number[]) => constant([values.length], BigInt64Array.from(values.map(BigInt)));
  const scalar = (value: number) => constant([], Float32Array.from([value]));
  const node = (opType: string, input: string[], attribute: AttributeProtoJson[] = [], output = [fresh(opType)]): string => {
    nodes.push({ input, output, name: fresh(`${opType}#node`), opType, domain: '', attribute });
    return output[0]!;
  };
  const attr = (n: NodeProtoJson, name: string) => n.attribute.find((a) => a.name === name);
  const channelsOf = (gammaName: string) => model.graph.initializer.find((t) => t.name === gammaName)!.dims[0]!;
  for (const n of model.graph.node) {
    if (n.domain === 'com.microsoft' && (n.opType === 'GroupNorm' || n.opType === 'SkipGroupNorm')) {
      const [x, gamma, beta, skip, bias] = n.input as [string, string, string, string?, string?];
      assert.equal(attr(n, 'channels_last')?.i, 1);
      const groups = attr(n, 'groups')!.i!;
      const eps = attr(n, 'epsilon')!.f!;
      const channels = channelsOf(gamma);
      let y = x;
      if (skip) y = node('Add', [y, node('Reshape', [skip, ints([0, 1, 1, channels])])]);
      if (bias) y = node('Add', [y, bias]);
      const grouped = node('Reshape', [y, ints([0, -1, groups, channels / groups])]);
      const mean = node('ReduceMean', [grouped], [{ name: 'axes', type: attributeType.ints, ints: [1, 3] }]);
      const centred = node('Sub', [grouped, mean]);
      const variance = node('ReduceMean', [node('Mul', [centred, centred])], [{ name: 'axes', type: attributeType.ints, ints: [1, 3] }]);
      const normed = node('Div', [centred, node('Sqrt', [node('Add', [variance, scalar(eps)])])]);
      let out = node('Add', [node('Mul', [node('Reshape', [normed, node('Shape', [x])]), gamma]), beta]);
      if (attr(n, 'activation')!.i === 1) out = node('Mul', [out, node('Sigmoid', [out])]);
      node('Identity', [out], [], [n.output[0]!]);
    } else if (n.domain === 'com.microsoft' && n.opType === 'BiasSplitGelu') {
      const [x, bias] = n.input as [string, string];
      const [value, gate] = [fresh('value'), fresh('gate')];
      node('Split', [node('Add', [x, bias])], [{ name: 'axis', type: attributeType.int, i: -1 }], [value, gate]);
      const erf = node('Erf', [node('Mul', [gate, scalar(Math.SQRT1_2)])]);
      const gelu = node('Mul', [node('Mul', [gate, node('Add', [erf, scalar(1)])]), scalar(0.5)]);
      node('Mul', [value, gelu], [], [n.output[0]!]);
    } else {
      nodes.push(n);
    }
  }
  return { ...model, graph: { ...model.graph, node: nodes, initializer: initializers } };
}

test('the whole fused graph, its GPU-only kernels written out in standard ops: the plain graph\'s numbers on the CPU', async () => {
  const modelDir = await referenceModelDir();
  const plain = await createSession((await ensureConvertedComponent(modelDir, 'unet')).onnxPath);
  const fusedPath = (await ensureConvertedComponent(modelDir, 'unet', { fusions: allFusions })).onnxPath;
  const written = withContribOpsWrittenOut(decodeModel(await readFile(fusedPath)));
  assert.ok(!written.graph.node.some((n) => ['GroupNorm', 'SkipGroupNorm', 'BiasSplitGelu'].includes(n.opType)));
  // Beside the fused graph, so that its external weights resolve.
  const referencePath = join(dirname(fusedPath), `reference-${randomBytes(4).toString('hex')}.onnx`);
  await writeFile(referencePath, encodeModel(written), { flag: 'wx' });
  const reference = await createSession(referencePath);
  for (const caseName of ['square', 'wide'] as const) {
    const { actual, expected } = await runComponent(reference, 'unet', caseName);
    const { actual: plainOut } = await runComponent(plain, 'unet', caseName);
    const vsPlain = assertAgrees(`fused (written out) ${caseName} vs plain`, actual, plainOut, fusedVsPlainTolerance);
    const vsDiffusers = assertAgrees(`fused (written out) ${caseName} vs diffusers`, actual, expected, float32Tolerance);
    console.log(
      `unet all fusions (GPU kernels written out) ${caseName}: max |fused - plain| ${vsPlain.maxError.toExponential(2)}, max |fused - diffusers| ${vsDiffusers.maxError.toExponential(2)}`,
    );
  }
  await Promise.all([plain.release(), reference.release()]);
});

describe('the whole fused graph (GPU kernels): structure', () => {
  for (const fp16 of [false, true]) {
    test(`unet ${fp16 ? 'float16' : 'float32'}: one contrib kernel per layer, no Cast inside, no Gather`, async () => {
      const modelDir = await referenceModelDir();
      const config = JSON.parse(await readFile(join(modelDir, 'unet', 'config.json'), 'utf8')) as Record<string, unknown>;
      const a = unetArchitecture(config);
      const blocks = [...a.down, ...a.up];
      const resnets = blocks.reduce((n, block) => n + block.resnets.length, 0) + 2;
      const transformers = blocks.reduce((n, block) => n + (block.transformer ? block.resnets.length * block.transformer.layers : 0), 0) + 1;
      const upsamplers = a.up.filter((block) => block.sampler !== null).length;

      const plain = await opCounts((await ensureConvertedComponent(modelDir, 'unet', { fp16 })).onnxPath);
      const fused = await opCounts((await ensureConvertedComponent(modelDir, 'unet', { fp16, fusions: allFusions })).onnxPath);
      console.log(`unet ${fp16 ? 'fp16' : 'fp32'} plain (${[...plain.values()].reduce((x, y) => x + y)} nodes): ${describeCounts(plain)}`);
      console.log(`unet ${fp16 ? 'fp16' : 'fp32'} fused (${[...fused.values()].reduce((x, y) => x + y)} nodes): ${describeCounts(fused)}`);
      const n = (op: string) => fused.get(op) ?? 0;

      // GroupNorm: each ResNet's first norm, each transformer's norm, the output norm; the second
      // norm of each ResNet takes the time embedding as SkipGroupNorm.
      assert.equal(n('ms:GroupNorm'), resnets + transformers + 1);
      assert.equal(n('ms:SkipGroupNorm'), resnets);
      assert.equal(n('InstanceNormalization'), 0);
      // SiLU survives only in the time embedding's MLP (twice).
      assert.equal(n('Sigmoid'), 2);
      // norm2 and norm3 of each block take their residual add; norm1 follows proj_in.
      assert.equal(n('ms:SkipLayerNormalization'), 2 * transformers);
      assert.equal(n('LayerNormalization'), transformers);
      assert.equal(n('ms:BiasSplitGelu'), transformers);
      assert.equal(n('Erf'), 0);
      assert.equal(n('Split'), 0);
      // The time embedding's two layers and each ResNet's projection of it.
      assert.equal(n('Gemm'), 2 + resnets);
      assert.equal(n('ms:MultiHeadAttention'), 2 * transformers);
      // Casts only where float32 is needed: the float32 inputs and output, the time embedding's sin/cos.
      assert.equal(n('Cast'), fp16 ? 4 : 0);
      // No Gather; one Shape per transformer (its output back to the input's shape) and two per
      // up-sampler (the skip connection's size).
      assert.equal(n('Gather'), 0);
      assert.equal(n('Shape'), transformers + 2 * upsamplers);
      assert.ok((plain.get('Shape') ?? 0) > n('Shape'));
      assert.ok([...fused.values()].reduce((x, y) => x + y) < [...plain.values()].reduce((x, y) => x + y));
    });
  }

  test('the CPU provider cannot create a session for it (no GroupNorm kernel): what the fallback test relies on', async () => {
    const modelDir = await referenceModelDir();
    const { onnxPath } = await ensureConvertedComponent(modelDir, 'unet', { fusions: allFusions });
    await assert.rejects(ort.InferenceSession.create(onnxPath, { executionProviders: ['cpu'], logSeverityLevel: 4 }), /GroupNorm|BiasSplitGelu/);
  });

  test('fusions are part of the cache key: plain, fused and each option are their own graphs', async () => {
    const modelDir = await referenceModelDir();
    const paths = new Set<string>();
    for (const fusions of [undefined, noFusions, cpuFusions, allFusions, { ...allFusions, skipGroupNorm: false }]) {
      paths.add((await ensureConvertedComponent(modelDir, 'unet', { fusions })).onnxPath);
    }
    // undefined and noFusions are the same plain graph.
    assert.equal(paths.size, 4);
  });
});
