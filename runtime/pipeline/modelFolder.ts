// What the pipeline needs from a diffusers-layout model folder, checked up front so that an
// incomplete download fails with the name of the missing file rather than deep inside a component.
import { join } from 'node:path';
import type { SchedulerConfig } from '../schedulers/scheduler.ts';
import { GenerationError } from './generationError.ts';
import { textEncoderArchitecture, unetArchitecture, UnsupportedModelError, vaeDecoderArchitecture } from '../onnx/modelArchitecture.ts';
import { pathExists } from '../files/newFiles.ts';
import { FileReadError, maxConfigFileBytes, readRegularTextFile } from '../files/readRegularFile.ts';
import { checkSchedulerConfig, SchedulerConfigError } from '../schedulers/schedulerConfigCheck.ts';
import { checkSamplerConfig } from '../schedulers/createScheduler.ts';
import { loadClipTokenizer } from '../tokenizer/clipTokenizer.ts';
import type { SchedulerName } from '../protocol/generationTypes.ts';

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
  let text: string;
  try {
    // A regular file of bounded size: a FIFO or a gigabyte "config" must not hang or exhaust the runtime.
    text = await readRegularTextFile(path, maxConfigFileBytes, 'config');
  } catch (error) {
    throw new GenerationError(error instanceof FileReadError ? error.message : `cannot read ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new GenerationError(`${path} is not valid JSON (${(error as Error).message}); the download may be damaged`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new GenerationError(`${path} must hold a JSON object`);
  return value as Record<string, unknown>;
}

/**
 * Every component config checked before anything is converted or loaded: the fields that shape the
 * graphs within bounds (UnsupportedModelError naming the field and the file otherwise), and the
 * components agreeing with each other (the UNet attends to what the text encoder produces).
 */
export async function checkModelConfigs(modelDir: string): Promise<void> {
  const [textEncoder, unet, vae] = await Promise.all(
    ['text_encoder/config.json', 'unet/config.json', 'vae/config.json'].map((file) => readJson(modelDir, file)),
  );
  const text = textEncoderArchitecture(textEncoder!);
  const denoiser = unetArchitecture(unet!);
  vaeDecoderArchitecture(vae!);
  const crossDims = [...denoiser.down, denoiser.mid, ...denoiser.up]
    .map((block) => block.transformer?.crossAttentionDim)
    .filter((dim): dim is number => dim !== undefined);
  // The tokenizer pads every prompt to model_max_length tokens, one position each: a config that
  // claims more than the encoder's position table would index past it.
  const tokenizer = await loadClipTokenizer(modelDir);
  if (tokenizer.maxLength > text.maxPositions) {
    throw new UnsupportedModelError(
      `the tokenizer and the text encoder disagree: tokenizer/tokenizer_config.json "model_max_length" is ${tokenizer.maxLength}, more than text_encoder/config.json "max_position_embeddings" ${text.maxPositions} (in ${modelDir})`,
    );
  }
  const mismatch = crossDims.find((dim) => dim !== text.hidden);
  if (mismatch !== undefined) {
    throw new UnsupportedModelError(
      `the UNet and the text encoder disagree: unet/config.json "cross_attention_dim" is ${mismatch}, text_encoder/config.json "hidden_size" is ${text.hidden} (in ${modelDir})`,
    );
  }
}

const schedulerConfigFile = 'scheduler/scheduler_config.json';

/** A refused scheduler config as the job's error (a userError, exit 2 on the CLI). */
function schedulerCheck<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof SchedulerConfigError) throw new GenerationError(error.message);
    throw error;
  }
}

export async function readSchedulerConfig(modelDir: string): Promise<SchedulerConfig> {
  const config = await readJson(modelDir, schedulerConfigFile);
  return schedulerCheck(() => checkSchedulerConfig(config, join(modelDir, schedulerConfigFile)));
}

/** The sampler the job will run, checked against the model's scheduler config before any work. */
export function checkSampler(modelDir: string, name: SchedulerName, config: SchedulerConfig): void {
  schedulerCheck(() => checkSamplerConfig(name, config, join(modelDir, schedulerConfigFile)));
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
  const vaePath = join(modelDir, 'vae/config.json');
  const scalingFactor = vae.scaling_factor ?? 0.18215;
  if (typeof scalingFactor !== 'number' || !Number.isFinite(scalingFactor) || scalingFactor <= 0 || scalingFactor > 1000) {
    throw new GenerationError(`${vaePath}: "scaling_factor" must be a number above 0 (SD 2: 0.18215), not ${JSON.stringify(scalingFactor)}`);
  }
  if (blocks < 1 || blocks > 8) throw new GenerationError(`${vaePath}: "block_out_channels" must list 1 to 8 blocks`);
  const channels = unet.in_channels ?? 4;
  const latentChannels = vae.latent_channels ?? 4;
  if (channels !== latentChannels) {
    throw new GenerationError(
      `the UNet and the VAE disagree: unet/config.json "in_channels" is ${JSON.stringify(channels)}, vae/config.json "latent_channels" is ${JSON.stringify(latentChannels)} (in ${modelDir})`,
    );
  }
  return {
    scalingFactor,
    channels: typeof channels === 'number' ? channels : 4,
    downscale: 2 ** (blocks - 1),
    forceUpcast: vae.force_upcast !== false,
  };
}
