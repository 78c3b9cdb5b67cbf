import { stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The files the Letterpress pipeline reads, in the diffusers layout. Everything else in the
 * repository (fp16 variants, .bin/.ckpt duplicates, safety checker) is left on the hub, which keeps
 * the download of pbevan11/stable-diffusion-2-typography to about 5.2 GB.
 */
export const requiredModelFiles: readonly string[] = [
  'model_index.json',
  'scheduler/scheduler_config.json',
  'tokenizer/vocab.json',
  'tokenizer/merges.txt',
  'tokenizer/special_tokens_map.json',
  'tokenizer/tokenizer_config.json',
  'text_encoder/config.json',
  'unet/config.json',
  'vae/config.json',
  'text_encoder/model.safetensors',
  'unet/diffusion_pytorch_model.safetensors',
  'vae/diffusion_pytorch_model.safetensors',
];

/** Needed files that are absent (or not regular files, e.g. a symlink to a missing blob). */
export async function findMissingModelFiles(modelDir: string): Promise<string[]> {
  const missing: string[] = [];
  for (const file of requiredModelFiles) {
    const info = await stat(join(modelDir, ...file.split('/'))).catch(() => undefined);
    if (!info?.isFile()) missing.push(file);
  }
  return missing;
}
