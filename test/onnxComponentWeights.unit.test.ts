// listComponentWeights against what diffusers/transformers actually wrote (the tiny fixture's
// headers) and the parameter counts the fixture README gives for the real SD2-base configs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listComponentWeights } from '../runtime/onnx/componentWeights.ts';
import { unetArchitecture } from '../runtime/onnx/modelArchitecture.ts';
import { openSafetensors } from '../runtime/safetensors/safetensorsFile.ts';
import { sd2ConfigsDir, tinyModelDir } from './fixturePaths.ts';

const readConfig = async (dir: string, folder: string) => JSON.parse(await readFile(join(dir, folder, 'config.json'), 'utf8'));
const parameters = (specs: { shape: number[] }[]) => specs.reduce((sum, s) => sum + s.shape.reduce((a, b) => a * b, 1), 0);

const components = [
  { component: 'text_encoder', folder: 'text_encoder', file: 'model.safetensors' },
  { component: 'unet', folder: 'unet', file: 'diffusion_pytorch_model.safetensors' },
  { component: 'vae_decoder', folder: 'vae', file: 'diffusion_pytorch_model.safetensors' },
  { component: 'vae_encoder', folder: 'vae', file: 'diffusion_pytorch_model.safetensors' },
] as const;

// The VAE file holds both halves: each graph takes its own.
const belongsTo = (component: string, name: string) =>
  component === 'vae_decoder'
    ? name.startsWith('decoder.') || name.startsWith('post_quant_conv.')
    : component === 'vae_encoder'
      ? name.startsWith('encoder.') || name.startsWith('quant_conv.')
      : true;

for (const { component, folder, file } of components) {
  test(`${component}: names and shapes are exactly those diffusers wrote for the tiny model`, async () => {
    const specs = listComponentWeights(component, await readConfig(tinyModelDir, folder));
    const weights = await openSafetensors(join(tinyModelDir, folder, file));
    try {
      const expected = [...weights.tensors.values()]
        .filter((t) => belongsTo(component, t.name))
        .map((t) => `${t.name} [${t.shape.join(',')}]`)
        .sort();
      assert.deepEqual(specs.map((s) => `${s.name} [${s.shape.join(',')}]`).sort(), expected);
    } finally {
      await weights.close();
    }
  });
}

test('SD2-base configs imply the real parameter counts (fixture README)', async () => {
  assert.equal(parameters(listComponentWeights('unet', await readConfig(sd2ConfigsDir, 'unet'))), 865_910_724);
  assert.equal(parameters(listComponentWeights('text_encoder', await readConfig(sd2ConfigsDir, 'text_encoder'))), 340_387_840);
  const vae = await readConfig(sd2ConfigsDir, 'vae');
  assert.equal(parameters(listComponentWeights('vae_encoder', vae)) + parameters(listComponentWeights('vae_decoder', vae)), 83_653_863);
});

test('SD2 reads attention_head_dim as the number of heads (64-wide heads at every level)', async () => {
  const unet = unetArchitecture(await readConfig(sd2ConfigsDir, 'unet'));
  const heads = [...unet.down, ...unet.up].flatMap((b) => (b.transformer ? [b.transformer] : []));
  assert.deepEqual(new Set(heads.map((t) => t.headDim)), new Set([64]));
  assert.deepEqual(unet.down.map((b) => b.transformer?.heads ?? null), [5, 10, 20, null]);
  assert.deepEqual(unet.up.map((b) => b.transformer?.heads ?? null), [null, 20, 10, 5]);
  assert.equal(unet.mid.transformer?.heads, 20);
});

test('configs outside the SD 1.x/2.x family are refused with the key that is unsupported', async () => {
  const config = { ...(await readConfig(tinyModelDir, 'unet')), addition_embed_type: 'text_time' };
  assert.throws(() => listComponentWeights('unet', config), /addition_embed_type="text_time" is not supported/);
});
