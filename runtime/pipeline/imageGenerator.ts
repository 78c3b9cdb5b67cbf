// Text-to-image with a Stable Diffusion 2 model on ONNX Runtime, step for step what diffusers'
// StableDiffusionPipeline computes. Sessions stay loaded between jobs for the same model and device
// (loading the UNet takes seconds) and are released after `idleUnloadMs` without a job.
//
// Seeds are Letterpress's own (runtime/pipeline/gaussianNoise.ts): a seed gives the same image on
// every machine and provider, but not the image PyTorch would give for it. Image i of a job uses
// seed + i, so any image of a batch can be made again on its own from its recorded seed.
//
// Up to `batchSize` images of a job go through each UNet call together (GPU providers; see
// providerTuning.ts); the VAE decodes them one at a time: SD2's decoder at 512x512 on the CPU took
// 3.7x as long for 4 images in one run as for one, with 3x the peak memory (4.5 against 1.5 GiB,
// npm run bench). The decode is one call per image against `steps` UNet calls, so batching it
// would save little even where it runs faster (GPU: the bench's "4 x 512x512" VAE row measures it).
//
// With a start image (GenerateOptions.initImage) it is diffusers' StableDiffusionImg2ImgPipeline, and
// with a mask as well its StableDiffusionInpaintPipeline on this 4-channel UNet: the VAE encoder's
// posterior sampled with the image's own noise (eps drawn first from its seed, then the latent
// noise), the schedule started where strength puts it, the kept region put back after each step.
import { relative, resolve, sep } from 'node:path';
import {
  defaultStrength,
  type StartImageRecord,
  type DeviceSetting,
  type GenerateOptions,
  type ProgressListener,
  type SchedulerName,
} from '../protocol/generationTypes.ts';
import { generateOptionsValidator } from '../protocol/runtimeProtocol.ts';
import { formatProblem, validateParams } from '../protocol/paramsValidation.ts';
import { imageSeed } from '../protocol/limits.ts';
import { encodeRgbPng } from '../png/encodePng.ts';
import { startImageChunkText } from '../png/startImageRecord.ts';
import { formatGenerationParameters } from '../png/generationParameters.ts';
import { latentPreviewPng, wantsPreview } from './latentPreview.ts';
import { createGaussianNoise } from './gaussianNoise.ts';
import { createScheduler, defaultSchedulerName } from '../schedulers/createScheduler.ts';
import { a1111Sampler } from '../png/a1111Samplers.ts';
import { loadClipTokenizer, type ClipTokenizer } from '../tokenizer/clipTokenizer.ts';
import { usesClassifierFreeGuidance } from './classifierFreeGuidance.ts';
import { vaeSampleToImage } from './decodedImage.ts';
import { denoiseLatents, type DenoisedImage } from './denoiseLoop.ts';
import { chooseExecutionProvider, probeProvider, providerDisplayName, shortenOrtError } from './executionProvider.ts';
import { GenerationError, throwIfAborted } from './generationError.ts';
import { checkFinite, isAllBlack, NonFiniteOutputError } from './outputCheck.ts';
import { checkModelConfigs, checkModelFolder, checkSampler, readLatentSpace, readSchedulerConfig, type LatentSpace } from './modelFolder.ts';
import { loadModelSessions, unetGraphNote, type ModelSessions } from './modelSessions.ts';
import type { GraphVariant } from '../onnx/graphFusions.ts';
import { encodePrompts } from './promptEncoding.ts';
import { preferredBatchSize, usesFloat16Graphs } from './providerTuning.ts';
import { prepareMask, prepareStartImage, rectangleMask, type ImageInput, type PreparedMask, type PreparedStartImage } from './startImage.ts';
import { letterpressChunkKey } from '../png/letterpressRecord.ts';

export interface GeneratedImage {
  /** [height, width, 3] in [0, 1]. */
  pixels: Float32Array;
  width: number;
  height: number;
  seed: number;
  /** AUTOMATIC1111-style parameters text (also stored in the PNG). */
  parameters: string;
  /** Image-to-image / inpainting: where the image came from (also in the PNG's `letterpress` chunk). */
  source?: StartImageRecord;
  /** PNG with the parameters in a text chunk named "parameters" (and `letterpress` with the source). */
  png(): Promise<Buffer>;
}

export interface GenerateResult {
  images: GeneratedImage[];
  /** Execution provider that ran the model ('cpu', 'cuda', 'webgpu', 'dml', 'coreml'). */
  provider: string;
  /** Which provider ran and why the others were skipped, for the user. */
  providerNote: string;
  /** The UNet graph that ran ('plain' after a fused graph failed; the note says why). */
  unetGraph: GraphVariant;
  /**
   * Most images per UNet call in this job: GenerateOptions.batchSize, else the provider's preference;
   * less when a larger call failed (GPU memory) and the job went on in smaller ones.
   */
  batchSize: number;
  timingsMs: Record<string, number>;
}

export interface GenerateHooks {
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  /**
   * Unscaled initial noise, [numImages, c, h/8, w/8] flattened, instead of noise from the seed. With
   * a start image: the noise add_noise mixes into its latents (pure starting noise for inpainting at
   * strength 1), as diffusers' reference runs record it.
   */
  latents?: Float32Array;
  /** The eps of each image's VAE posterior sample, [numImages, c, h/8, w/8], instead of noise from the seed. */
  encoderNoise?: Float32Array;
}

/**
 * Options that start generation from an encoded image made in memory (layout-first text's
 * WithStartImage, runtime/layout/layoutPhase.ts): `png` at `strength`, recorded as a layout unless
 * `kind` says it is the user's own picture.
 */
export function withStartImageData(
  base: GenerateOptions,
  start: { png: Uint8Array; strength: number; mask?: Uint8Array; kind?: 'image' | 'layout' },
): GenerateOptions {
  const { initImage: _image, mask: _mask, maskBox: _maskBox, initImageData: _data, maskData: _maskData, ...rest } = base;
  return {
    ...rest,
    initImageData: start.png,
    strength: start.strength,
    initImageKind: start.kind ?? 'layout',
    ...(start.mask ? { maskData: start.mask } : {}),
  };
}

/** diffusers' get_timesteps: how many of `steps` a start image at `strength` runs (0 = none). */
export function stepsForStrength(steps: number, strength: number): number {
  return Math.min(Math.floor(steps * strength), steps);
}

interface LoadedModel {
  key: string;
  sessions: ModelSessions;
  tokenizer: ClipTokenizer;
  /** The provider note without the UNet graph's part, which can change after loading (a fallback). */
  baseNote: string;
  providerNote: string;
}

const defaultIdleUnloadMs = 10 * 60_000;

/** How the pipeline names a field in its messages (its callers are the CLI, the runtime and benches). */
const fieldWords: Record<string, string> = {
  numImages: 'number of images',
  batchSize: 'batch size',
  guidanceScale: 'guidance scale',
  negativePrompt: 'negative prompt',
  modelDir: 'model folder',
  modelName: 'model name',
};

/**
 * The limits table through the protocol's own validator (the one the runtime server runs), for
 * callers that reach the pipeline directly; then what depends on the model: its latent block size.
 */
function validateOptions(options: GenerateOptions, latentSpace: LatentSpace): void {
  const problem = validateParams(generateOptionsValidator, options);
  if (problem) throw new GenerationError(formatProblem(problem, (path) => path.map((p) => fieldWords[String(p)] ?? String(p)).join(' ')));
  const multiple = latentSpace.downscale;
  for (const [name, value] of [
    ['width', options.width],
    ['height', options.height],
  ] as const) {
    if (value % multiple !== 0) throw new GenerationError(`${name} must be a multiple of ${multiple} for this model, got ${value}`);
  }
}

function validateStartImageOptions(options: GenerateOptions): void {
  const hasImage = options.initImage !== undefined || options.initImageData !== undefined;
  const hasMask = options.mask !== undefined || options.maskData !== undefined || options.maskBox !== undefined;
  // The range is the limits table's (validateOptions); what depends on other fields is checked here.
  if (options.strength !== undefined && !hasImage) throw new GenerationError('strength needs a start image');
  if (hasMask && !hasImage) throw new GenerationError('a mask needs a start image to repaint');
  if (!hasImage) return;
  const strength = options.strength ?? defaultStrength;
  if (stepsForStrength(options.steps, strength) < 1) {
    throw new GenerationError(
      `strength ${strength} with ${options.steps} steps leaves no step to run (int(steps x strength) = 0): raise the strength or the steps`,
    );
  }
}

/** A start image's path for the record: relative to the workspace, with forward slashes; absolute when outside it. */
function recordedPath(path: string, workspaceDir: string | undefined): string {
  const absolute = resolve(path);
  const rel = relative(resolve(workspaceDir ?? '.'), absolute);
  const inside = rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep) && !/^[a-zA-Z]:/.test(rel);
  return (inside ? rel : absolute).split(sep).join('/');
}

interface PreparedSource {
  image: PreparedStartImage;
  mask: PreparedMask | null;
  strength: number;
  record: StartImageRecord;
}

async function prepareSource(options: GenerateOptions, downscale: number): Promise<PreparedSource | null> {
  const imageInput: ImageInput | undefined = options.initImageData ?? options.initImage;
  if (imageInput === undefined) return null;
  // A rectangle drawn in the editor becomes a mask made in memory, at the output size (validated inside it).
  const maskInput: ImageInput | undefined =
    options.maskData ?? options.mask ?? (options.maskBox ? await rectangleMask(options.width, options.height, options.maskBox) : undefined);
  const strength = options.strength ?? defaultStrength;
  const image = await prepareStartImage(imageInput, options.width, options.height);
  const mask = maskInput === undefined ? null : await prepareMask(maskInput, options.width, options.height, downscale);
  const entry = (input: ImageInput, sha256: string) => ({ ...(typeof input === 'string' ? { path: recordedPath(input, options.workspaceDir) } : {}), sha256 });
  const record: StartImageRecord = {
    mode: mask ? 'inpaint' : options.initImageKind === 'layout' ? 'layout' : 'img2img',
    strength,
    image: entry(imageInput, image.sha256),
    ...(mask && maskInput !== undefined ? { mask: { ...entry(maskInput, mask.sha256), ...(options.maskBox && !options.mask && !options.maskData ? { box: options.maskBox } : {}) } } : {}),
  };
  return { image, mask, strength, record };
}

/** The posterior sample (mean + exp(logvar / 2) · eps) · scaling factor, in float32 as diffusers computes it. */
export function samplePosterior(mean: Float32Array, logvar: Float32Array, eps: Float32Array, scalingFactor: number): Float32Array {
  const f32 = Math.fround;
  const scale = f32(scalingFactor);
  const out = new Float32Array(mean.length);
  for (let i = 0; i < out.length; i++) {
    const std = f32(Math.exp(f32(0.5 * logvar[i])));
    out[i] = f32(scale * f32(mean[i] + f32(std * eps[i])));
  }
  return out;
}

/**
 * Runs a job; when a float16 graph produced NaN or Inf (float16 overflows on real SD 2 weights), runs
 * it once more in float32 and says so. A second failure, or one in float32, names the component.
 */
export async function runWithFloat32Retry<T>(
  options: GenerateOptions,
  hooks: GenerateHooks,
  runJob: (options: GenerateOptions) => Promise<T>,
): Promise<T> {
  try {
    return await runJob(options);
  } catch (error) {
    if (!(error instanceof NonFiniteOutputError) || !error.float16 || !options.fp16) throw error;
    hooks.onProgress?.({
      status: 'message',
      level: 'warning',
      text: `the float16 ${error.component} produced NaN or infinite values; running the job again in float32 (slower, more memory)`,
    });
    try {
      return await runJob({ ...options, fp16: false });
    } catch (retryError) {
      if (retryError instanceof NonFiniteOutputError) {
        throw new NonFiniteOutputError(`${retryError.message} (in float16, and again in float32)`, retryError.component, false);
      }
      throw retryError;
    }
  }
}

export class ImageGenerator {
  private readonly idleUnloadMs: number;
  private loaded: LoadedModel | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  /** The job running now: generate() is not re-entrant, and unload() waits for it. */
  private running: Promise<unknown> | undefined;
  private disposed = false;
  private readonly graph: GraphVariant | undefined;
  /** The running job's hooks: where a note from the sessions after loading (a fallback) is said. */
  private jobHooks: GenerateHooks | undefined;

  /**
   * `idleUnloadMs`: how long loaded sessions wait for the next job before being released (default
   * 10 minutes); 0 releases them after every job, Infinity keeps them until unload() or dispose().
   * `graph`: the UNet graph to load instead of the provider's own choice (benchmarks compare them).
   */
  constructor(options: { idleUnloadMs?: number; graph?: GraphVariant } = {}) {
    this.idleUnloadMs = options.idleUnloadMs ?? defaultIdleUnloadMs;
    this.graph = options.graph;
  }

  /**
   * One job at a time, and the caller keeps the order: the runtime queues jobs itself
   * (runtime/process/runtimeHandlers.ts), the CLI and the benchmarks await each job. A second call
   * while one runs is a bug, refused rather than queued.
   */
  generate(options: GenerateOptions, hooks: GenerateHooks = {}): Promise<GenerateResult> {
    if (this.running) return Promise.reject(new Error('ImageGenerator runs one job at a time: await the previous generate() first'));
    const job = this.run(options, hooks);
    this.running = job;
    const done = () => {
      if (this.running === job) this.running = undefined;
    };
    job.then(done, done);
    return job;
  }

  /** Releases the sessions now (after the running job, if any); the next job loads them again. */
  async unload(): Promise<void> {
    await this.running?.catch(() => undefined);
    await this.release();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await this.unload();
  }

  /** Whether sessions are loaded (for tests and the runtime's status). */
  get isLoaded(): boolean {
    return this.loaded !== undefined;
  }

  private async release(): Promise<void> {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const loaded = this.loaded;
    this.loaded = undefined;
    await loaded?.sessions.release();
  }

  private scheduleIdleUnload(): void {
    clearTimeout(this.idleTimer);
    if (!this.loaded || !Number.isFinite(this.idleUnloadMs)) return;
    this.idleTimer = setTimeout(() => void this.unload(), Math.max(0, this.idleUnloadMs));
    // An idle model must not keep the process alive.
    this.idleTimer.unref();
  }

  private async load(modelDir: string, device: DeviceSetting, fp16: boolean, vaeForceUpcast: boolean, hooks: GenerateHooks): Promise<LoadedModel> {
    const key = JSON.stringify([modelDir, device, fp16]);
    if (this.loaded?.key === key) return this.loaded;
    // One model at a time: two SD2 UNets do not fit in most machines' memory.
    await this.release();
    const tokenizer = await loadClipTokenizer(modelDir);
    const onNote = (text: string) => {
      // The fused UNet fell back on its first run: the running job says so, and so does the note.
      const loaded = this.loaded;
      if (loaded) loaded.providerNote = `${loaded.baseNote}${unetGraphNote(loaded.sessions)}`;
      this.jobHooks?.onProgress?.({ status: 'message', level: 'warning', text });
    };
    const choice = await chooseExecutionProvider(device, async (provider) => {
      await probeProvider(provider);
      return loadModelSessions(modelDir, provider, usesFloat16Graphs(provider, fp16), hooks, { vaeForceUpcast, graph: this.graph, onNote });
    });
    const precision = choice.value.fp16 ? (choice.value.vaeUpcast ? ', float16 UNet and text encoder, float32 VAE' : ', float16 graphs') : '';
    const baseNote = `${choice.note}${precision}`;
    this.loaded = { key, sessions: choice.value, tokenizer, baseNote, providerNote: `${baseNote}${unetGraphNote(choice.value)}` };
    hooks.onProgress?.({ status: 'message', level: 'info', text: this.loaded.providerNote });
    // What the converter had to work around (a damaged weights file, the other variant used): said.
    for (const note of choice.value.notes) hooks.onProgress?.({ status: 'message', level: 'info', text: note });
    return this.loaded;
  }

  private async run(options: GenerateOptions, hooks: GenerateHooks): Promise<GenerateResult> {
    if (this.disposed) throw new Error('ImageGenerator was disposed');
    clearTimeout(this.idleTimer);
    this.jobHooks = hooks;
    try {
      return await runWithFloat32Retry(options, hooks, (attempt) => this.runJob(attempt, hooks));
    } finally {
      this.jobHooks = undefined;
      if (this.idleUnloadMs <= 0) await this.release();
      else this.scheduleIdleUnload();
    }
  }

  private async runJob(options: GenerateOptions, hooks: GenerateHooks): Promise<GenerateResult> {
    const { onProgress, signal } = hooks;
    const started = performance.now();
    const timingsMs: Record<string, number> = {};
    const time = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
      const t0 = performance.now();
      try {
        return await work();
      } finally {
        timingsMs[name] = (timingsMs[name] ?? 0) + (performance.now() - t0);
      }
    };

    throwIfAborted(signal);
    await checkModelFolder(options.modelDir);
    await checkModelConfigs(options.modelDir);
    const [schedulerConfig, latentSpace] = await Promise.all([readSchedulerConfig(options.modelDir), readLatentSpace(options.modelDir)]);
    validateOptions(options, latentSpace);
    validateStartImageOptions(options);
    const schedulerName: SchedulerName = options.scheduler ?? defaultSchedulerName(schedulerConfig);
    checkSampler(options.modelDir, schedulerName, schedulerConfig);
    const numImages = options.numImages ?? 1;
    const latentShape = [1, latentSpace.channels, options.height / latentSpace.downscale, options.width / latentSpace.downscale] as const;
    const latentSize = latentShape[1] * latentShape[2] * latentShape[3];
    if (hooks.latents && hooks.latents.length !== numImages * latentSize) {
      throw new GenerationError(
        `initial latents have ${hooks.latents.length} values; ${numImages} image(s) of ${options.width}x${options.height} need ` +
          `${numImages}x${latentShape.slice(1).join('x')} = ${numImages * latentSize}`,
      );
    }
    if (hooks.encoderNoise && hooks.encoderNoise.length !== numImages * latentSize) {
      throw new GenerationError(`encoder noise has ${hooks.encoderNoise.length} values; ${numImages} image(s) need ${numImages * latentSize}`);
    }
    // The start image and mask are read and checked before the model is loaded.
    const source = await prepareSource(options, latentSpace.downscale);
    if (source) {
      for (const [what, prepared] of [['start image', source.image], ['mask', source.mask]] as const) {
        if (prepared?.resized) {
          onProgress?.({
            status: 'message',
            level: 'info',
            text: `the ${what} is ${prepared.original.width}x${prepared.original.height}; resized to ${options.width}x${options.height}`,
          });
        }
      }
      if (source.mask && source.mask.repaintedCells === 0) {
        onProgress?.({
          status: 'message',
          level: 'warning',
          text:
            source.mask.whitePixels === 0
              ? 'the mask has no white pixel: nothing is repainted, the result is the start image as the VAE gives it back'
              : 'the mask\'s white areas fall between the latent grid\'s samples (every 8th pixel): nothing is repainted; paint a larger area',
        });
      }
    }

    const model = await time('load', () => this.load(options.modelDir, options.device ?? 'auto', options.fp16 ?? false, latentSpace.forceUpcast, hooks));
    const { sessions } = model;
    throwIfAborted(signal);

    const guidance = usesClassifierFreeGuidance(options.guidanceScale);
    const prompts = await time('textEncoder', () =>
      encodePrompts(model.tokenizer, sessions.encodeText, options.prompt, options.negativePrompt ?? '', guidance, onProgress),
    );
    checkFinite(prompts.embeddings, 'text encoder', { float16: sessions.fp16, what: 'prompt embeddings' });

    let posterior: { mean: Float32Array; logvar: Float32Array } | undefined;
    if (source) {
      throwIfAborted(signal);
      posterior = await time('encode', () =>
        sessions.encodeImage(source.image.sample, [1, 3, options.height, options.width], { onProgress, signal }),
      );
    }
    const runSteps = source ? stepsForStrength(options.steps, source.strength) : options.steps;

    let batchSize = options.batchSize ?? preferredBatchSize(sessions.provider, options.width, options.height);
    const images: GeneratedImage[] = [];
    for (let first = 0, count = 0; first < numImages; first += count) {
      count = Math.min(batchSize, numImages - first);
      const batch: DenoisedImage[] = [];
      for (let index = first; index < first + count; index++) {
        const stepNoise = createGaussianNoise(imageSeed(options.seed, index));
        const slice = (all: Float32Array) => all.slice(index * latentSize, (index + 1) * latentSize);
        // As in diffusers, the posterior's eps is drawn before the latent noise.
        let imageLatents: Float32Array | undefined;
        if (posterior) {
          const eps = hooks.encoderNoise ? slice(hooks.encoderNoise) : stepNoise.randn(latentSize);
          imageLatents = samplePosterior(posterior.mean, posterior.logvar, eps, latentSpace.scalingFactor);
        }
        const noise = hooks.latents ? slice(hooks.latents) : stepNoise.randn(latentSize);
        // Multistep samplers keep state, so each image gets a fresh one.
        const scheduler = createScheduler(schedulerName, schedulerConfig);
        scheduler.setTimesteps(options.steps);
        batch.push({ scheduler, noise, stepNoise, ...(imageLatents ? { imageLatents } : {}) });
      }

      const callsStarted = performance.now();
      const denoised = await time('denoise', () =>
        denoiseLatents({
          images: batch,
          latentShape,
          ...(source
            ? {
                startImage: {
                  // Every sampler of ours has order 1, so the first step is t_start itself.
                  firstStep: options.steps - runSteps,
                  // Inpainting at full strength starts from pure noise, as diffusers' is_strength_max.
                  noisedStartImage: !(source.mask && source.strength === 1),
                  ...(source.mask ? { mask: source.mask.latentMask } : {}),
                },
              }
            : {}),
          embeddings: prompts.embeddings,
          embeddingBatch: prompts.batch,
          tokens: prompts.tokens,
          guidanceScale: options.guidanceScale,
          predictNoise: sessions.predictNoise,
          signal,
          onBatchSplit: (imagesPerCall, failedImages, error) => {
            onProgress?.({
              status: 'message',
              level: 'warning',
              text:
                `${providerDisplayName(sessions.provider)} could not denoise ${failedImages} images in one UNet call (${shortenOrtError(error)}); ` +
                `going on with ${imagesPerCall} per call. A smaller batch size avoids the failed attempt.`,
            });
            batchSize = imagesPerCall;
          },
          onStep: (step, total, current) => {
            // The first UNet call of a job pays for lazy initialisation (kernels, allocations).
            if (step === 1 && first === 0) timingsMs.firstStep = performance.now() - callsStarted;
            if (!onProgress) return;
            const preview = wantsPreview(step, total)
              ? latentPreviewPng(current[0], { channels: latentShape[1], height: latentShape[2], width: latentShape[3] })
              : undefined;
            const elapsedMs = Math.round(performance.now() - started);
            onProgress({ status: 'step', step, total, image: first, ...(count > 1 ? { images: count } : {}), elapsedMs, ...(preview ? { preview } : {}) });
          },
        }),
      );

      for (const [offset, latents] of denoised.entries()) {
        const index = first + offset;
        const seed = imageSeed(options.seed, index);
        throwIfAborted(signal);
        checkFinite(latents, 'UNet', { float16: sessions.fp16, guidanceScale: options.guidanceScale, what: `denoised latents of image ${index + 1}` });
        onProgress?.({ status: 'decode', image: index });
        const pixels = await time('decode', async () => {
          const unscaled = Float32Array.from(latents, (v) => v / latentSpace.scalingFactor);
          const sample = await sessions.decodeLatents(unscaled, latentShape);
          checkFinite(sample, 'VAE decoder', { float16: sessions.fp16 && !sessions.vaeUpcast, what: `decoded pixels of image ${index + 1}` });
          return vaeSampleToImage(sample, options.width, options.height);
        });
        if (isAllBlack(pixels)) {
          throw new GenerationError(
            `image ${index + 1} (seed ${seed}) came out all black: the VAE decoder's output collapsed, so no image was written. ` +
              'Try another seed or scheduler; if every image is black, the model files are damaged',
          );
        }
        const parameters = formatGenerationParameters({
          prompt: options.prompt,
          negativePrompt: options.negativePrompt,
          steps: options.steps,
          ...a1111Sampler(schedulerName),
          cfgScale: options.guidanceScale,
          seed,
          width: options.width,
          height: options.height,
          model: options.modelName ?? options.modelDir,
          ...(source ? { extra: { 'Denoising strength': String(source.strength) } } : {}),
        });
        const { width, height } = options;
        const chunks: Record<string, string> = { parameters };
        if (source) chunks[letterpressChunkKey] = startImageChunkText(source.record);
        // Since the job started: what a user waits for the first picture (with a batch, the whole batch's denoising).
        timingsMs.firstImage ??= performance.now() - started;
        images.push({
          pixels,
          width,
          height,
          seed,
          parameters,
          ...(source ? { source: source.record } : {}),
          png: () => encodeRgbPng(pixels, width, height, chunks),
        });
      }
    }

    timingsMs.total = performance.now() - started;
    onProgress?.({ status: 'done' });
    return { images, provider: sessions.provider, providerNote: model.providerNote, unetGraph: sessions.unetGraph, batchSize, timingsMs };
  }
}
