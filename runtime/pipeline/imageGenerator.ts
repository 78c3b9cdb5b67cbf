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
import {
  deviceSettings,
  schedulerNames,
  type DeviceSetting,
  type GenerateOptions,
  type ProgressListener,
  type SchedulerName,
} from '../protocol/generationTypes.ts';
import { encodeRgbPng } from '../png/encodePng.ts';
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
import { checkModelFolder, readLatentSpace, readSchedulerConfig, type LatentSpace } from './modelFolder.ts';
import { loadModelSessions, type ModelSessions } from './modelSessions.ts';
import { encodePrompts } from './promptEncoding.ts';
import { preferredBatchSize, usesFloat16Graphs } from './providerTuning.ts';

export interface GeneratedImage {
  /** [height, width, 3] in [0, 1]. */
  pixels: Float32Array;
  width: number;
  height: number;
  seed: number;
  /** AUTOMATIC1111-style parameters text (also stored in the PNG). */
  parameters: string;
  /** PNG with the parameters in a text chunk named "parameters". */
  png(): Promise<Buffer>;
}

export interface GenerateResult {
  images: GeneratedImage[];
  /** Execution provider that ran the model ('cpu', 'cuda', 'webgpu', 'dml', 'coreml'). */
  provider: string;
  /** Which provider ran and why the others were skipped, for the user. */
  providerNote: string;
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
  /** Unscaled initial noise, [numImages, c, h/8, w/8] flattened, instead of noise from the seed. */
  latents?: Float32Array;
}

interface LoadedModel {
  key: string;
  sessions: ModelSessions;
  tokenizer: ClipTokenizer;
  providerNote: string;
}

const defaultIdleUnloadMs = 10 * 60_000;

function validateOptions(options: GenerateOptions, latentSpace: LatentSpace): void {
  const positiveInteger = (name: string, value: number, max: number): void => {
    if (!Number.isInteger(value) || value < 1 || value > max) {
      throw new GenerationError(`${name} must be a whole number from 1 to ${max}, got ${value}`);
    }
  };
  if (typeof options.prompt !== 'string') throw new GenerationError('prompt must be text');
  positiveInteger('steps', options.steps, 1000);
  positiveInteger('number of images', options.numImages ?? 1, 64);
  if (options.batchSize !== undefined) positiveInteger('batch size', options.batchSize, 64);
  if (!Number.isFinite(options.guidanceScale) || options.guidanceScale < 0) {
    throw new GenerationError(`guidance scale must be a number of 0 or more, got ${options.guidanceScale}`);
  }
  const multiple = latentSpace.downscale;
  for (const [name, value] of [
    ['width', options.width],
    ['height', options.height],
  ] as const) {
    if (!Number.isInteger(value) || value < multiple || value % multiple !== 0 || value > 4096) {
      throw new GenerationError(`${name} must be a multiple of ${multiple} from ${multiple} to 4096, got ${value}`);
    }
  }
  const lastSeed = options.seed + (options.numImages ?? 1) - 1;
  if (!Number.isSafeInteger(options.seed) || options.seed < 0 || !Number.isSafeInteger(lastSeed)) {
    throw new GenerationError(`seed must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}, got ${options.seed}`);
  }
  if (options.scheduler !== undefined && !schedulerNames.includes(options.scheduler)) {
    throw new GenerationError(`unknown scheduler "${options.scheduler}"; valid schedulers: ${schedulerNames.join(', ')}`);
  }
  if (options.device !== undefined && !deviceSettings.includes(options.device)) {
    throw new GenerationError(`unknown device "${options.device}"; valid devices: ${deviceSettings.join(', ')}`);
  }
}

export class ImageGenerator {
  private readonly idleUnloadMs: number;
  private loaded: LoadedModel | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;

  /**
   * `idleUnloadMs`: how long loaded sessions wait for the next job before being released (default
   * 10 minutes); 0 releases them after every job, Infinity keeps them until unload() or dispose().
   */
  constructor(options: { idleUnloadMs?: number } = {}) {
    this.idleUnloadMs = options.idleUnloadMs ?? defaultIdleUnloadMs;
  }

  /** Jobs run one at a time, in the order they were asked for. */
  generate(options: GenerateOptions, hooks: GenerateHooks = {}): Promise<GenerateResult> {
    const job = this.queue.then(
      () => this.run(options, hooks),
      () => this.run(options, hooks),
    );
    this.queue = job.catch(() => undefined);
    return job;
  }

  /** Releases the sessions now; the next job loads them again. */
  unload(): Promise<void> {
    const job = this.queue.then(() => this.release());
    this.queue = job.catch(() => undefined);
    return job;
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
    const choice = await chooseExecutionProvider(device, async (provider) => {
      await probeProvider(provider);
      return loadModelSessions(modelDir, provider, usesFloat16Graphs(provider, fp16), hooks, { vaeForceUpcast });
    });
    const precision = choice.value.fp16 ? (choice.value.vaeUpcast ? ', float16 UNet and text encoder, float32 VAE' : ', float16 graphs') : '';
    this.loaded = { key, sessions: choice.value, tokenizer, providerNote: `${choice.note}${precision}` };
    hooks.onProgress?.({ status: 'message', level: 'info', text: this.loaded.providerNote });
    return this.loaded;
  }

  private async run(options: GenerateOptions, hooks: GenerateHooks): Promise<GenerateResult> {
    if (this.disposed) throw new Error('ImageGenerator was disposed');
    clearTimeout(this.idleTimer);
    try {
      return await this.runJob(options, hooks);
    } finally {
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
    const [schedulerConfig, latentSpace] = await Promise.all([readSchedulerConfig(options.modelDir), readLatentSpace(options.modelDir)]);
    validateOptions(options, latentSpace);
    const schedulerName: SchedulerName = options.scheduler ?? defaultSchedulerName(schedulerConfig);
    const numImages = options.numImages ?? 1;
    const latentShape = [1, latentSpace.channels, options.height / latentSpace.downscale, options.width / latentSpace.downscale] as const;
    const latentSize = latentShape[1] * latentShape[2] * latentShape[3];
    if (hooks.latents && hooks.latents.length !== numImages * latentSize) {
      throw new GenerationError(
        `initial latents have ${hooks.latents.length} values; ${numImages} image(s) of ${options.width}x${options.height} need ` +
          `${numImages}x${latentShape.slice(1).join('x')} = ${numImages * latentSize}`,
      );
    }

    const model = await time('load', () => this.load(options.modelDir, options.device ?? 'auto', options.fp16 ?? false, latentSpace.forceUpcast, hooks));
    const { sessions } = model;
    throwIfAborted(signal);

    const guidance = usesClassifierFreeGuidance(options.guidanceScale);
    const prompts = await time('textEncoder', () =>
      encodePrompts(model.tokenizer, sessions.encodeText, options.prompt, options.negativePrompt ?? '', guidance, onProgress),
    );

    let batchSize = options.batchSize ?? preferredBatchSize(sessions.provider, options.width, options.height);
    const images: GeneratedImage[] = [];
    for (let first = 0, count = 0; first < numImages; first += count) {
      count = Math.min(batchSize, numImages - first);
      const batch: DenoisedImage[] = [];
      for (let index = first; index < first + count; index++) {
        const stepNoise = createGaussianNoise(options.seed + index);
        const noise = hooks.latents ? hooks.latents.slice(index * latentSize, (index + 1) * latentSize) : stepNoise.randn(latentSize);
        // Multistep samplers keep state, so each image gets a fresh one.
        const scheduler = createScheduler(schedulerName, schedulerConfig);
        scheduler.setTimesteps(options.steps);
        batch.push({ scheduler, noise, stepNoise });
      }

      const denoised = await time('denoise', () =>
        denoiseLatents({
          images: batch,
          latentShape,
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
        const seed = options.seed + index;
        throwIfAborted(signal);
        onProgress?.({ status: 'decode', image: index });
        const pixels = await time('decode', async () => {
          const unscaled = Float32Array.from(latents, (v) => v / latentSpace.scalingFactor);
          return vaeSampleToImage(await sessions.decodeLatents(unscaled, latentShape), options.width, options.height);
        });
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
        });
        const { width, height } = options;
        images.push({ pixels, width, height, seed, parameters, png: () => encodeRgbPng(pixels, width, height, { parameters }) });
      }
    }

    timingsMs.total = performance.now() - started;
    onProgress?.({ status: 'done' });
    return { images, provider: sessions.provider, providerNote: model.providerNote, batchSize, timingsMs };
  }
}
