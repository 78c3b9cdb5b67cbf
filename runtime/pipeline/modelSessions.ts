// The ONNX Runtime sessions of a Stable Diffusion model on one execution provider, and typed calls
// into them using the converter's graph input/output names. The VAE encoder, which only image-to-image
// needs, is converted and loaded on its first use.
import { InferenceSession, Tensor } from 'onnxruntime-node';
import type { ProgressListener } from '../protocol/generationTypes.ts';
import { ensureConvertedComponent } from '../onnx/convertModel.ts';
import {
  ProviderIndependentError,
  providerDisplayName,
  sessionOptionsFor,
  type ExecutionProviderName,
} from './executionProvider.ts';
import { throwIfAborted } from './generationError.ts';
import { conversionOptionsFor } from './providerTuning.ts';

const components = ['text_encoder', 'unet', 'vae_decoder'] as const;
type Component = (typeof components)[number] | 'vae_encoder';

export interface ModelSessions {
  provider: ExecutionProviderName;
  fp16: boolean;
  /** The VAE runs in float32 although `fp16` is set (its config's force_upcast). */
  vaeUpcast: boolean;
  notes: string[];
  /** input ids [batch, 77] → last_hidden_state [batch, 77, hidden] */
  encodeText(inputIds: BigInt64Array, batch: number): Promise<Float32Array>;
  /** sample [batch, c, h, w] at one timestep → predicted noise of the same shape */
  predictNoise(sample: Float32Array, shape: readonly number[], timestep: number, textEmbeddings: Float32Array, tokens: number): Promise<Float32Array>;
  /** latents [batch, c, h, w], already divided by the scaling factor → images [batch, 3, 8h, 8w] in about [-1, 1] */
  decodeLatents(latents: Float32Array, shape: readonly number[]): Promise<Float32Array>;
  /**
   * images [batch, 3, H, W] in [-1, 1] → the VAE posterior's mean and log-variance (clamped to
   * [-30, 20]), [batch, c, H/8, W/8] each, not yet multiplied by the scaling factor.
   */
  encodeImage(images: Float32Array, shape: readonly number[], hooks?: { onProgress?: ProgressListener; signal?: AbortSignal }): Promise<{ mean: Float32Array; logvar: Float32Array }>;
  release(): Promise<void>;
}

async function runSingleOutput(session: InferenceSession, feeds: Record<string, Tensor>, output: string): Promise<Float32Array> {
  const result = await session.run(feeds);
  return (result[output] as Tensor).data as Float32Array;
}

export async function loadModelSessions(
  modelDir: string,
  provider: ExecutionProviderName,
  fp16: boolean,
  hooks: { onProgress?: ProgressListener; signal?: AbortSignal },
  options: { vaeForceUpcast?: boolean } = {},
): Promise<ModelSessions> {
  const vaeUpcast = fp16 && options.vaeForceUpcast !== false;
  const sessions = new Map<Component, InferenceSession>();
  const notes: string[] = [];
  let encoderLoad: Promise<InferenceSession> | null = null;
  let released = false;
  const release = async (): Promise<void> => {
    released = true;
    const open = [...sessions.values()];
    sessions.clear();
    const encoder = encoderLoad;
    encoderLoad = null;
    await Promise.all([...open.map((s) => s.release()), encoder?.then((s) => s.release(), () => {})]);
  };
  const loadComponent = async (component: Component, loadHooks: { onProgress?: ProgressListener; signal?: AbortSignal }): Promise<InferenceSession> => {
    throwIfAborted(loadHooks.signal);
    const converted = await ensureConvertedComponent(modelDir, component, {
      ...conversionOptionsFor(provider, component, fp16, { vaeForceUpcast: options.vaeForceUpcast }),
      provider,
      onProgress: loadHooks.onProgress,
      signal: loadHooks.signal,
    }).catch((error: unknown) => {
      throw (error as Error)?.name === 'AbortError' ? error : new ProviderIndependentError(error);
    });
    notes.push(...converted.notes);
    loadHooks.onProgress?.({ status: 'load', component, provider: providerDisplayName(provider) });
    return InferenceSession.create(converted.onnxPath, sessionOptionsFor(provider));
  };
  try {
    for (const component of components) sessions.set(component, await loadComponent(component, hooks));
  } catch (error) {
    await release();
    throw error;
  }
  const session = (c: Component): InferenceSession => {
    const s = sessions.get(c);
    if (!s) throw new Error(`the ${c} session was released`);
    return s;
  };

  return {
    provider,
    fp16,
    vaeUpcast,
    notes,
    release,
    encodeText: (inputIds, batch) =>
      runSingleOutput(session('text_encoder'), { input_ids: new Tensor('int64', inputIds, [batch, inputIds.length / batch]) }, 'last_hidden_state'),
    predictNoise: (sample, shape, timestep, textEmbeddings, tokens) => {
      const batch = shape[0];
      return runSingleOutput(
        session('unet'),
        {
          sample: new Tensor('float32', sample, [...shape]),
          timestep: new Tensor('float32', new Float32Array(batch).fill(timestep), [batch]),
          encoder_hidden_states: new Tensor('float32', textEmbeddings, [batch, tokens, textEmbeddings.length / (batch * tokens)]),
        },
        'out_sample',
      );
    },
    decodeLatents: (latents, shape) =>
      runSingleOutput(session('vae_decoder'), { latent_sample: new Tensor('float32', latents, [...shape]) }, 'sample'),
    encodeImage: async (images, shape, encodeHooks = {}) => {
      if (released) throw new Error('the vae_encoder session was released');
      if (!encoderLoad) {
        const loading = loadComponent('vae_encoder', encodeHooks);
        encoderLoad = loading;
        // A failed or cancelled load is tried again by the next job.
        loading.catch(() => {
          if (encoderLoad === loading) encoderLoad = null;
        });
      }
      const encoder = await encoderLoad;
      const result = await encoder.run({ sample: new Tensor('float32', images, [...shape]) });
      return { mean: (result.mean as Tensor).data as Float32Array, logvar: (result.logvar as Tensor).data as Float32Array };
    },
  };
}
