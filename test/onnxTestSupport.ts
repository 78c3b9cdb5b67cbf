// Shared by the converter tests: temp copies of the tiny model, the reference tensors, and an ORT
// session run compared against them.
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import * as ort from 'onnxruntime-node';
import { float16BitsToFloat32 } from '../runtime/safetensors/float16.ts';
import { openSafetensors, type SafetensorsFile } from '../runtime/safetensors/safetensorsFile.ts';
import { writeSafetensors } from '../runtime/safetensors/safetensorsWriter.ts';
import { referenceDir, tinyModelDir } from './fixturePaths.ts';

const tempDirs: string[] = [];

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'letterpress-onnx-'));
  tempDirs.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/** A writable copy of test/fixtures/tiny-sd2 (conversion caches inside the model folder). */
export async function copyTinyModel(): Promise<string> {
  const dir = join(await tempDir(), 'tiny-sd2');
  // Other tests may have converted the fixture in place: copy the model, not their cache.
  await cp(tinyModelDir, dir, { recursive: true, filter: (source) => !relative(tinyModelDir, source).split(sep).includes('.letterpress') });
  return dir;
}

/**
 * The reference UNet outputs were computed with the UNet weights rounded to float16: the fixture's
 * float32 file differs from its .fp16 file only by that rounding, and with the rounded weights our
 * graph agrees to ~1e-6 where the unrounded ones leave 1.3e-3. So the float32 agreement tests use a
 * float32 file holding exactly those values.
 */
export async function useReferenceUnetWeights(modelDir: string): Promise<void> {
  const source = await openSafetensors(join(modelDir, 'unet', 'diffusion_pytorch_model.fp16.safetensors'));
  try {
    const entries = [...source.tensors.values()].map((t) => ({ name: t.name, dtype: 'F32' as const, shape: t.shape }));
    await writeSafetensors(join(modelDir, 'unet', 'diffusion_pytorch_model.safetensors'), entries, async (entry) => {
      const bytes = await source.readBytes(entry.name);
      return float16BitsToFloat32(new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2));
    });
  } finally {
    await source.close();
  }
}

let reference: Promise<SafetensorsFile> | null = null;
export function referenceTensors(): Promise<SafetensorsFile> {
  reference ??= openSafetensors(join(referenceDir, 'components.safetensors'));
  return reference;
}

let img2imgReference: Promise<SafetensorsFile> | null = null;
/** reference/img2img.safetensors: the VAE encoder's tensors and the image-to-image cases. */
export function img2imgReferenceTensors(): Promise<SafetensorsFile> {
  img2imgReference ??= openSafetensors(join(referenceDir, 'img2img.safetensors'));
  return img2imgReference;
}

export async function referenceTensor(name: string): Promise<ort.Tensor> {
  const file = name.startsWith('vae_encoder.') ? await img2imgReferenceTensors() : await referenceTensors();
  const info = file.tensors.get(name);
  assert.ok(info, `reference tensor ${name} is missing`);
  if (info.dtype === 'I32') {
    // Stored as I32 to keep the fixture small; the graph takes int64 ids.
    const bytes = await file.readBytes(name);
    const ids = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    return new ort.Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), info.shape);
  }
  return new ort.Tensor('float32', await file.readFloat32(name), info.shape);
}

export interface Agreement {
  maxError: number;
  maxMagnitude: number;
}

export function agreement(actual: ort.Tensor, expected: ort.Tensor): Agreement {
  assert.deepEqual(actual.dims, expected.dims, 'output shape');
  const a = actual.data as Float32Array;
  const e = expected.data as Float32Array;
  let maxError = 0;
  let maxMagnitude = 0;
  for (let i = 0; i < e.length; i++) {
    const error = Math.abs(a[i]! - e[i]!);
    if (!(error <= maxError)) maxError = Number.isNaN(error) ? Infinity : error;
    maxMagnitude = Math.max(maxMagnitude, Math.abs(e[i]!));
  }
  return { maxError, maxMagnitude };
}

/** Largest error within `relative` of the reference's largest magnitude. */
export function assertAgrees(label: string, actual: ort.Tensor, expected: ort.Tensor, relative: number): Agreement {
  const result = agreement(actual, expected);
  assert.ok(
    result.maxError <= relative * result.maxMagnitude,
    `${label}: largest error ${result.maxError.toExponential(3)} exceeds ${relative} x ${result.maxMagnitude.toFixed(4)}`,
  );
  return result;
}

export async function createSession(onnxPath: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(onnxPath, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
}

export async function runComponent(
  session: ort.InferenceSession,
  component: 'text_encoder' | 'unet' | 'vae_decoder' | 'vae_encoder',
  caseName?: 'square' | 'wide',
  output: 'mean' | 'logvar' = 'mean',
): Promise<{ actual: ort.Tensor; expected: ort.Tensor }> {
  if (component === 'text_encoder') {
    const out = await session.run({ input_ids: await referenceTensor('text_encoder.input_ids') });
    return { actual: out.last_hidden_state!, expected: await referenceTensor('text_encoder.last_hidden_state') };
  }
  if (component === 'unet') {
    const p = `unet.${caseName}`;
    const out = await session.run({
      sample: await referenceTensor(`${p}.sample`),
      timestep: await referenceTensor(`${p}.timestep`),
      encoder_hidden_states: await referenceTensor(`${p}.encoder_hidden_states`),
    });
    return { actual: out.out_sample!, expected: await referenceTensor(`${p}.out_sample`) };
  }
  if (component === 'vae_encoder') {
    const p = `vae_encoder.${caseName}`;
    const out = await session.run({ sample: await referenceTensor(`${p}.sample`) });
    return { actual: out[output]!, expected: await referenceTensor(`${p}.${output}`) };
  }
  const p = `vae_decoder.${caseName}`;
  const out = await session.run({ latent_sample: await referenceTensor(`${p}.latent_sample`) });
  return { actual: out.sample!, expected: await referenceTensor(`${p}.sample`) };
}
