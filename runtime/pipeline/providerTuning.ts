// Per-provider choices the pipeline makes for the user: how many images share one UNet call, and
// which graphs (precision, attention) it converts and loads.
import type { AttentionMode } from '../onnx/graphBuilder.ts';
import type { ComponentName } from '../onnx/modelArchitecture.ts';
import type { ExecutionProviderName } from './executionProvider.ts';

/** Most images a GPU provider denoises in one UNet call by default. */
export const maxPreferredBatchSize = 4;

/** The pixel area the default batch is sized for: four 512x512 images (UNet batch 8 with guidance). */
const batchPixelBudget = maxPreferredBatchSize * 512 * 512;

/**
 * Default `GenerateOptions.batchSize`: 1 on the CPU, where a batch runs no faster than its images
 * one after another but needs more memory (npm run bench, SD2-base, 4 images at 256x256 on 2 cores:
 * 18.6 s of denoising at batch 1, 18.4 s at batch 4, peak RSS 5.35 against 5.72 GiB); on GPU
 * providers up to 4 images at 512x512, fewer for larger images so that the activations (which grow
 * with batch x area, attention scores with its square) stay within a consumer GPU.
 */
export function preferredBatchSize(provider: ExecutionProviderName, width = 512, height = 512): number {
  if (provider === 'cpu') return 1;
  return Math.max(1, Math.min(maxPreferredBatchSize, Math.floor(batchPixelBudget / (width * height))));
}

/**
 * DirectML and CoreML have no com.microsoft MultiHeadAttention kernel, so their UNet is converted
 * with plain MatMul/Softmax attention; the other providers get the converter's default (fused for
 * the UNet). `undefined` keeps the converter's default and its cache key.
 */
export function attentionModeFor(provider: ExecutionProviderName, component: ComponentName): AttentionMode | undefined {
  if (component === 'unet' && (provider === 'dml' || provider === 'coreml')) return 'plain';
  return undefined;
}

/** Whether `--fp16` gives float16 graphs on `provider`: only GPU providers gain from them. */
export function usesFloat16Graphs(provider: ExecutionProviderName, fp16: boolean): boolean {
  return fp16 && provider !== 'cpu';
}

/**
 * What the pipeline asks the converter for when it loads `component` on `provider` (`fp16`: the
 * graphs' precision, see usesFloat16Graphs): a VAE (decoder and encoder) whose config says force_upcast stays float32, as
 * diffusers' pipelines decode there (SD2's VAE overflows float16); the attention above. The
 * converter's cache key follows these options, so `letterpress convert --device` uses this too and
 * prepares the very graph generation will load.
 */
export function conversionOptionsFor(
  provider: ExecutionProviderName,
  component: ComponentName,
  fp16: boolean,
  model: { vaeForceUpcast?: boolean } = {},
): { fp16: boolean; attentionMode: AttentionMode | undefined } {
  const upcast = (component === 'vae_decoder' || component === 'vae_encoder') && model.vaeForceUpcast !== false;
  return { fp16: fp16 && !upcast, attentionMode: attentionModeFor(provider, component) };
}
