// What the pipeline needs from a diffusers-layout model folder, checked up front so that an
// incomplete download fails with the name of the missing file rather than deep inside a component.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SchedulerConfig } from '../schedulers/scheduler.ts';
import { GenerationError } from './generationError.ts';
import { pathExists } from '../files/newFiles.ts';

/** Each entry is satisfied by any one of its alternatives (the fp16 variant counts for weights). */
const requiredFiles: readonly (readonly string[])[] = [
  ['scheduler/scheduler_config.json'],
  ['tokenizer/vocab.json'],
  ['tokenizer/merges.txt'],
  ['text_encoder/config.json'],
  ['text_encoder/model.safetensors', 'text_encoder/model.fp16.safetensors'],
  ['unet/config.json'],
  ['unet/diffusion_pytorch_model.safetensors', 'unet/diffusion_pytorch_model.fp16.safetensors'],
  ['vae/config.json'],
  ['vae/diffusion_pytorch_model.safetensors', 'vae/diffusion_pytorch_model.fp16.safetensors'],
];


export async function checkModelFolder(modelDir: string): Promise<void> {
  if (!(await pathExists(modelDir))) {
    throw new GenerationError(`model folder not found: ${modelDir}`);
  }
  const missing: string[] = [];
  for (const alternatives of requiredFiles) {
    const found = await Promise.all(alternatives.map((file) => pathExists(join(modelDir, file))));
    if (!found.some(Boolean)) missing.push(alternatives[0]);
  }
  if (missing.length) {
    throw new GenerationError(
      `model folder ${modelDir} is incomplete: missing ${missing.join(', ')}. ` +
        'Download the model again (a partial download leaves files out) or point to a complete diffusers folder.',
    );
  }
}

async function readJson(modelDir: string, file: string): Promise<Record<string, unknown>> {
  const path = join(modelDir, file);
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new GenerationError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

export async function readSchedulerConfig(modelDir: string): Promise<SchedulerConfig> {
  return (await readJson(modelDir, 'scheduler/scheduler_config.json')) as SchedulerConfig;
}

export interface LatentSpace {
  /** The VAE's scaling_factor: latents are divided by it before decoding. */
  scalingFactor: number;
  channels: number;
  /** Pixels per latent cell: 2^(number of VAE blocks − 1). */
  downscale: number;
  /**
   * The VAE's force_upcast (diffusers' AutoencoderKL default: true): decode in float32 even when the
   * rest runs in float16, as diffusers' pipelines do, because the VAE overflows float16.
   */
  forceUpcast: boolean;
}

export async function readLatentSpace(modelDir: string): Promise<LatentSpace> {
  const vae = await readJson(modelDir, 'vae/config.json');
  const unet = await readJson(modelDir, 'unet/config.json');
  const blocks = Array.isArray(vae.block_out_channels) ? vae.block_out_channels.length : 4;
  return {
    scalingFactor: typeof vae.scaling_factor === 'number' ? vae.scaling_factor : 0.18215,
    channels: typeof unet.in_channels === 'number' ? unet.in_channels : 4,
    downscale: 2 ** (blocks - 1),
    forceUpcast: vae.force_upcast !== false,
  };
}
