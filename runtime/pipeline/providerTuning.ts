// Per-provider choices the pipeline makes for the user: how many images share one UNet call, and
// which graphs (precision, attention) it converts and loads.
import type { AttentionMode } from '../onnx/graphBuilder.ts';
import { allFusions, type GraphFusions, type GraphVariant } from '../onnx/graphFusions.ts';
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
 * The UNet graph a provider loads unless told otherwise: the fused one (contrib kernels, see
 * runtime/onnx/graphFusions.ts) on CUDA, DirectML and WebGPU; the plain one on the CPU (whose ORT
 * optimizer makes the same fusions it has kernels for by itself) and on CoreML (no com.microsoft
 * kernels). A fused graph that fails on the machine falls back to the plain one
 * (runtime/pipeline/modelSessions.ts).
 */
export function graphVariantFor(provider: ExecutionProviderName): GraphVariant {
  return provider === 'cuda' || provider === 'dml' || provider === 'webgpu' ? 'fused' : 'plain';
}

/**
 * The fusions of `graph` for `component` on `provider`: none for the plain graph and for the
 * components other than the UNet; every fusion for the fused UNet, but SkipGroupNorm on DirectML,
 * which has GroupNorm but no SkipGroupNorm kernel. The CPU asked for the fused graph gets the GPU's
 * (which it cannot load: the fallback's test case).
 */
export function fusionsFor(provider: ExecutionProviderName, component: ComponentName, graph: GraphVariant): GraphFusions | undefined {
  if (graph === 'plain' || component !== 'unet') return undefined;
  return provider === 'dml' ? { ...allFusions, skipGroupNorm: false } : { ...allFusions };
}

/**
 * CoreML has no com.microsoft MultiHeadAttention kernel, so its UNet is converted with plain
 * MatMul/Softmax attention; so is DirectML's plain graph (its fused graph uses its MultiHeadAttention
 * kernel, and the plain graph is its fallback). The other providers get the converter's default
 * (MultiHeadAttention for the UNet). `undefined` keeps the converter's default and its cache key.
 */
export function attentionModeFor(
  provider: ExecutionProviderName,
  component: ComponentName,
  graph: GraphVariant = graphVariantFor(provider),
): AttentionMode | undefined {
  if (component === 'unet' && (provider === 'coreml' || (provider === 'dml' && graph === 'plain'))) return 'plain';
  return undefined;
}

/** Whether `--fp16` gives float16 graphs on `provider`: only GPU providers gain from them. */
export function usesFloat16Graphs(provider: ExecutionProviderName, fp16: boolean): boolean {
  return fp16 && provider !== 'cpu';
}

/**
 * What the pipeline asks the converter for when it loads `component` on `provider` (`fp16`: the
 * graphs' precision, see usesFloat16Graphs): a VAE (decoder and encoder) whose config says force_upcast stays float32, as
 * diffusers' pipelines decode there (SD2's VAE overflows float16); the attention and fusions of
 * `graph` (the provider's own choice unless given). The converter's cache key follows these
 * options, so `letterpress convert --device` uses this too and prepares the very graph generation
 * will load.
 */
export function conversionOptionsFor(
  provider: ExecutionProviderName,
  component: ComponentName,
  fp16: boolean,
  model: { vaeForceUpcast?: boolean } = {},
  graph: GraphVariant = graphVariantFor(provider),
): { fp16: boolean; attentionMode: AttentionMode | undefined; fusions: GraphFusions | undefined } {
  const upcast = (component === 'vae_decoder' || component === 'vae_encoder') && model.vaeForceUpcast !== false;
  return { fp16: fp16 && !upcast, attentionMode: attentionModeFor(provider, component, graph), fusions: fusionsFor(provider, component, graph) };
}
