// Converted graphs against diffusers' own outputs (test/fixtures/reference/components.safetensors),
// run in a real onnxruntime-node CPU session.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ensureConvertedComponent } from '../runtime/onnx/convertModel.ts';
import { decodeModel } from '../runtime/onnx/onnxSchema.ts';
import {
  assertAgrees,
  copyTinyModel,
  createSession,
  removeTempDirs,
  runComponent,
  useReferenceUnetWeights,
} from './onnxTestSupport.ts';

// Float32 on CPU: the README's "about 1e-4 of the reference's largest magnitude".
const float32Tolerance = 1e-4;
// Float16 weights and activations (norms and the time embedding in float32): a few float16 ulps
// (2^-10 ≈ 1e-3) accumulated over the network.
const float16Tolerance = 5e-3;

after(removeTempDirs);

describe('float32 graphs agree with diffusers', () => {
  test('text encoder: last_hidden_state', async () => {
    const modelDir = await copyTinyModel();
    const converted = await ensureConvertedComponent(modelDir, 'text_encoder');
    assert.deepEqual(converted.notes, []);
    const { actual, expected } = await runComponent(await createSession(converted.onnxPath), 'text_encoder');
    assertAgrees('text_encoder', actual, expected, float32Tolerance);
  });

  test('unet (fused attention, the default): square and wide latents', async () => {
    const modelDir = await copyTinyModel();
    await useReferenceUnetWeights(modelDir);
    const converted = await ensureConvertedComponent(modelDir, 'unet');
    assert.deepEqual(converted.notes, []);
    // The diffusers file is used in place: the graph's weights file is a hard link to it.
    const [linked, original] = await Promise.all([
      stat(join(converted.onnxPath, '..', 'weights.safetensors')),
      stat(join(modelDir, 'unet', 'diffusion_pytorch_model.safetensors')),
    ]);
    assert.equal(linked.ino, original.ino);
    const session = await createSession(converted.onnxPath);
    for (const caseName of ['square', 'wide'] as const) {
      const { actual, expected } = await runComponent(session, 'unet', caseName);
      assertAgrees(`unet ${caseName}`, actual, expected, float32Tolerance);
    }
  });

  test('unet (plain-op attention) from the .fp16 variant cast to float32 (the weights the reference used)', async () => {
    const modelDir = await copyTinyModel();
    const converted = await ensureConvertedComponent(modelDir, 'unet', { variant: 'fp16', attentionMode: 'plain' });
    assert.deepEqual(converted.notes, []);
    const session = await createSession(converted.onnxPath);
    for (const caseName of ['square', 'wide'] as const) {
      const { actual, expected } = await runComponent(session, 'unet', caseName);
      assertAgrees(`unet plain ${caseName}`, actual, expected, float32Tolerance);
    }
  });

  test('vae decoder: square and wide latents, plain and fused attention', async () => {
    const modelDir = await copyTinyModel();
    for (const attentionMode of ['plain', 'fused'] as const) {
      const converted = await ensureConvertedComponent(modelDir, 'vae_decoder', { attentionMode });
      const session = await createSession(converted.onnxPath);
      for (const caseName of ['square', 'wide'] as const) {
        const { actual, expected } = await runComponent(session, 'vae_decoder', caseName);
        assertAgrees(`vae_decoder ${attentionMode} ${caseName}`, actual, expected, float32Tolerance);
      }
    }
  });

  test('vae encoder + quant_conv: posterior mean and log-variance, square and wide images', async () => {
    const modelDir = await copyTinyModel();
    const converted = await ensureConvertedComponent(modelDir, 'vae_encoder');
    assert.deepEqual(converted.notes, []);
    // Encoder and decoder share the VAE's weights file, used in place by both.
    const [linked, original] = await Promise.all([
      stat(join(converted.onnxPath, '..', 'weights.safetensors')),
      stat(join(modelDir, 'vae', 'diffusion_pytorch_model.safetensors')),
    ]);
    assert.equal(linked.ino, original.ino);
    const session = await createSession(converted.onnxPath);
    for (const caseName of ['square', 'wide'] as const) {
      for (const output of ['mean', 'logvar'] as const) {
        const { actual, expected } = await runComponent(session, 'vae_encoder', caseName, output);
        assertAgrees(`vae_encoder ${caseName} ${output}`, actual, expected, float32Tolerance);
      }
    }
  });
});

describe('float16 graphs', () => {
  test('unet from the fixture .fp16 file: used in place, agrees within float16 tolerance', async () => {
    const modelDir = await copyTinyModel();
    const converted = await ensureConvertedComponent(modelDir, 'unet', { fp16: true });
    assert.deepEqual(converted.notes, []);
    const [linked, original] = await Promise.all([
      stat(join(converted.onnxPath, '..', 'weights.safetensors')),
      stat(join(modelDir, 'unet', 'diffusion_pytorch_model.fp16.safetensors')),
    ]);
    assert.equal(linked.ino, original.ino);
    const session = await createSession(converted.onnxPath);
    for (const caseName of ['square', 'wide'] as const) {
      const { actual, expected } = await runComponent(session, 'unet', caseName);
      assertAgrees(`unet fp16 ${caseName}`, actual, expected, float16Tolerance);
    }
  });

  test('upcast_attention (SD 2.x 768-v configs): float32 attention inside the float16 unet', async () => {
    const modelDir = await copyTinyModel();
    const configPath = join(modelDir, 'unet', 'config.json');
    await writeFile(configPath, JSON.stringify({ ...JSON.parse(await readFile(configPath, 'utf8')), upcast_attention: true }));
    const converted = await ensureConvertedComponent(modelDir, 'unet', { fp16: true });
    const model = decodeModel(await readFile(converted.onnxPath));
    const attentionInputs = model.graph.node.filter((n) => n.opType === 'MultiHeadAttention').flatMap((n) => n.input);
    const castsToFloat32 = new Set(model.graph.node.filter((n) => n.opType === 'Cast' && n.attribute[0]?.i === 1).flatMap((n) => n.output));
    assert.ok(attentionInputs.length > 0 && attentionInputs.every((name) => castsToFloat32.has(name)));
    const { actual, expected } = await runComponent(await createSession(converted.onnxPath), 'unet', 'square');
    assertAgrees('unet fp16 upcast attention', actual, expected, float16Tolerance);
  });

  test('text encoder, vae decoder and vae encoder cast from float32 weights', async () => {
    const modelDir = await copyTinyModel();
    for (const component of ['text_encoder', 'vae_decoder', 'vae_encoder'] as const) {
      const converted = await ensureConvertedComponent(modelDir, component, { fp16: true });
      assert.match(converted.notes.join('\n'), /cast to float16/);
      const session = await createSession(converted.onnxPath);
      const { actual, expected } = await runComponent(session, component, 'square');
      assertAgrees(`${component} fp16`, actual, expected, float16Tolerance);
    }
  });
});

test('unet at latent sizes that do not halve evenly: each up-sampler resizes to its skip connection', async () => {
  const modelDir = await copyTinyModel();
  const converted = await ensureConvertedComponent(modelDir, 'unet');
  const session = await createSession(converted.onnxPath);
  // 18x20 latents go down 18→9→5→3 and 20→10→5→3; a plain 2x upsample (3→6) cannot meet a 5-wide skip.
  const [h, w] = [18, 20];
  const out = await session.run({
    sample: new ort.Tensor('float32', new Float32Array(4 * h * w).fill(0.5), [1, 4, h, w]),
    timestep: new ort.Tensor('float32', Float32Array.from([500]), [1]),
    encoder_hidden_states: new ort.Tensor('float32', new Float32Array(77 * 32).fill(0.1), [1, 77, 32]),
  });
  assert.deepEqual(out.out_sample!.dims, [1, 4, h, w]);
  assert.ok((out.out_sample!.data as Float32Array).every(Number.isFinite));
});
