// The ONNX Runtime sessions of a Stable Diffusion model on one execution provider, and typed calls
// into them using the converter's graph input/output names. The VAE encoder, which only image-to-image
// needs, is converted and loaded on its first use. The UNet's fused graph (contrib kernels) falls
// back to the plain graph when its session cannot be created or its first run fails: a driver or an
// ONNX Runtime build without one of those kernels still generates, a little slower, and says so.
import { InferenceSession, Tensor } from 'onnxruntime-node';
import type { ProgressListener } from '../protocol/generationTypes.ts';
import { ensureConvertedComponent } from '../onnx/convertModel.ts';
import type { GraphVariant } from '../onnx/graphFusions.ts';
import {
  ProviderIndependentError,
  providerDisplayName,
  sessionOptionsFor,
  shortenOrtError,
  type ExecutionProviderName,
} from './executionProvider.ts';
import { throwIfAborted } from './generationError.ts';
import { conversionOptionsFor, graphVariantFor } from './providerTuning.ts';

const components = ['text_encoder', 'unet', 'vae_decoder'] as const;
type Component = (typeof components)[number] | 'vae_encoder';

export interface ModelSessions {
  provider: ExecutionProviderName;
  fp16: boolean;
  /** The VAE runs in float32 although `fp16` is set (its config's force_upcast). */
  vaeUpcast: boolean;
  notes: string[];
  /** The UNet graph running: the provider's choice, or 'plain' after the fused one failed. */
  readonly unetGraph: GraphVariant;
  /** Why the UNet runs the plain graph although the fused one was asked for (undefined otherwise). */
  readonly graphFallback: string | undefined;
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

/** The UNet graph part of the provider note: ", fused UNet graph", or the fallback and why. */
export function unetGraphNote(sessions: Pick<ModelSessions, 'unetGraph' | 'graphFallback'>): string {
  if (sessions.graphFallback) return `; ${sessions.graphFallback}`;
  return sessions.unetGraph === 'fused' ? ', fused UNet graph' : '';
}

/** How sessions are made: ONNX Runtime's own, unless a test wraps it. */
export type SessionFactory = (onnxPath: string, options: InferenceSession.SessionOptions) => Promise<InferenceSession>;
const createOrtSession: SessionFactory = (onnxPath, options) => InferenceSession.create(onnxPath, options);

async function runSingleOutput(session: InferenceSession, feeds: Record<string, Tensor>, output: string): Promise<Float32Array> {
  const result = await session.run(feeds);
  return (result[output] as Tensor).data as Float32Array;
}

export async function loadModelSessions(
  modelDir: string,
  provider: ExecutionProviderName,
  fp16: boolean,
  hooks: { onProgress?: ProgressListener; signal?: AbortSignal },
  options: {
    vaeForceUpcast?: boolean;
    /** The UNet graph to load (default: graphVariantFor(provider)). */
    graph?: GraphVariant;
    /** Says what happened after loading (a fallback on the first run) to whoever is listening now. */
    onNote?: (text: string) => void;
    createSession?: SessionFactory;
  } = {},
): Promise<ModelSessions> {
  const vaeUpcast = fp16 && options.vaeForceUpcast !== false;
  const createSession = options.createSession ?? createOrtSession;
  let unetGraph = options.graph ?? graphVariantFor(provider);
  let graphFallback: string | undefined;
  /** Whether the UNet has run once on its current graph (a fused graph's first run is watched). */
  let unetProven = unetGraph === 'plain';
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
  const loadComponent = async (
    component: Component,
    loadHooks: { onProgress?: ProgressListener; signal?: AbortSignal },
    graph: GraphVariant = component === 'unet' ? unetGraph : 'plain',
  ): Promise<InferenceSession> => {
    throwIfAborted(loadHooks.signal);
    const converted = await ensureConvertedComponent(modelDir, component, {
      ...conversionOptionsFor(provider, component, fp16, { vaeForceUpcast: options.vaeForceUpcast }, graph),
      provider,
      onProgress: loadHooks.onProgress,
      signal: loadHooks.signal,
    }).catch((error: unknown) => {
      throw (error as Error)?.name === 'AbortError' ? error : new ProviderIndependentError(error);
    });
    notes.push(...converted.notes);
    loadHooks.onProgress?.({ status: 'load', component, provider: providerDisplayName(provider) });
    return createSession(converted.onnxPath, sessionOptionsFor(provider));
  };
  /** Switches the UNet to the plain graph after the fused one failed (`when`: at load or on its first run). */
  const fallBack = async (error: unknown, when: string, loadHooks: { onProgress?: ProgressListener; signal?: AbortSignal }): Promise<InferenceSession> => {
    graphFallback = `the fused UNet graph failed on ${providerDisplayName(provider)} ${when} (${shortenOrtError(error)}); using the plain graph`;
    unetGraph = 'plain';
    unetProven = true;
    notes.push(graphFallback);
    options.onNote?.(graphFallback);
    return loadComponent('unet', loadHooks, 'plain');
  };
  const loadUnet = async (loadHooks: { onProgress?: ProgressListener; signal?: AbortSignal }): Promise<InferenceSession> => {
    if (unetGraph === 'plain') return loadComponent('unet', loadHooks);
    try {
      return await loadComponent('unet', loadHooks);
    } catch (error) {
      if ((error as Error)?.name === 'AbortError' || error instanceof ProviderIndependentError) throw error;
      return fallBack(error, 'when its session was created', loadHooks);
    }
  };
  try {
    for (const component of components) sessions.set(component, component === 'unet' ? await loadUnet(hooks) : await loadComponent(component, hooks));
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
    get unetGraph() {
      return unetGraph;
    },
    get graphFallback() {
      return graphFallback;
    },
    predictNoise: async (sample, shape, timestep, textEmbeddings, tokens) => {
      const batch = shape[0];
      const feeds = {
        sample: new Tensor('float32', sample, [...shape]),
        timestep: new Tensor('float32', new Float32Array(batch).fill(timestep), [batch]),
        encoder_hidden_states: new Tensor('float32', textEmbeddings, [batch, tokens, textEmbeddings.length / (batch * tokens)]),
      };
      if (unetProven) return runSingleOutput(session('unet'), feeds, 'out_sample');
      try {
        const out = await runSingleOutput(session('unet'), feeds, 'out_sample');
        unetProven = true;
        return out;
      } catch (error) {
        if (released) throw error;
        const fused = session('unet');
        sessions.delete('unet');
        await fused.release().catch(() => {});
        sessions.set('unet', await fallBack(error, 'on its first run', {}));
        return runSingleOutput(session('unet'), feeds, 'out_sample');
      }
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
