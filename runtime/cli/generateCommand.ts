// `letterpress generate`: one text-to-image, image-to-image or inpainting job from the command line,
// written as PNG files with the generation parameters embedded (and optionally the raw float image
// as safetensors).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { env as ortEnv } from 'onnxruntime-node';
import { defaultStrength, deviceSettings, schedulerNames, type DeviceSetting, type ProgressEvent, type SchedulerName } from '../protocol/generationTypes.ts';
import { defaultModelId, resolveModel } from '../modelStore/resolveModel.ts';
import { describeScore, legiblePhases, planLegibleJob } from '../legibility/legibleJob.ts';
import { resolveTargetText } from '../protocol/targetText.ts';
import { ImageGenerator, stepsForStrength, type GeneratedImage } from '../pipeline/imageGenerator.ts';
import { GenerationError } from '../pipeline/generationError.ts';
import { encodedImageSize, prepareMask, readImageBytes } from '../pipeline/startImage.ts';
import { openSafetensors } from '../safetensors/safetensorsFile.ts';
import { safetensorsTensorsWriter } from '../safetensors/safetensorsWriter.ts';
import { CliError } from './cliError.ts';
import { imageSeed, limits, randomSeed, sizeCostFactor, sizeCostNote, startImageOutputSize } from '../protocol/limits.ts';
import { runGenerateImageJob, type ImageGeneratorLike } from '../jobs/generateImageJob.ts';
import { formatProblem, validateParams, type FieldPath } from '../protocol/paramsValidation.ts';
import { generateImageRequest, RuntimeError, type GenerateImageParams, type GenerateImageResult } from '../protocol/runtimeProtocol.ts';
import { checkCliOutputs } from './cliOutputChecks.ts';
import { writeCliOutput } from './cliOutputFile.ts';
import { parseCliOptions } from './cliOptions.ts';

/** A start image's default size stays within the limits table's sides (scaled, keeping its shape). */
const maxSide = limits.side.max;
const minSide = limits.side.min;

const usage = `usage: letterpress generate --prompt <text> --out <file.png> [options]

  --model <dir|repo id>      diffusers model folder or Hugging Face repo id (default ${defaultModelId})
  --prompt <text>            what to draw (required)
  --negative-prompt <text>   what to avoid
  --steps <n>                denoising steps (default 25)
  --guidance <g>             classifier-free guidance scale (default 7.5; 1 or less turns it off)
  --scheduler <name>         ${schedulerNames.join(', ')} (default: the model's)
  --width <px> --height <px> multiples of 8 (default 512x512)
  --seed <n>                 0 to ${limits.seed.max}, default random; image i uses seed+i (wrapping past
                             ${limits.seed.max} to 0). Seeds are Letterpress's own noise, not PyTorch's:
                             the same seed gives another image than diffusers would.
  --num-images <n>           images from one prompt (default 1); files are named <out>-1.png, <out>-2.png…
  --batch-size <n>           most images denoised together in one UNet call (default 1 on the CPU, up to
                             4 on a GPU); the images do not depend on it, only speed and memory do
  --init-image <img>         image-to-image: start from this PNG, JPEG or WebP (transparency on white),
                             stretched to --width x --height (default: its own size, rounded down to
                             multiples of 8, scaled to fit ${minSide}..${maxSide} px a side)
  --strength <0..1>          how much of the start image is repainted (default ${defaultStrength}); the run
                             does int(steps x strength) of the steps
  --mask <img>               inpainting: white = repaint, black = keep (stretched to the image's size)
  --latents <file#tensor>    start from this unscaled noise [n,4,H/8,W/8] in a safetensors file
                             (size and number of images default to the tensor's); with --init-image,
                             the noise added to its latents (reference runs)
  --encoder-noise <file#tensor>  with --init-image: the eps of the start image's VAE posterior sample
                             [n,4,H/8,W/8] instead of noise from the seed (reference runs)
  --device <d>               ${deviceSettings.join(', ')} (default auto)
  --fp16                     float16 graphs on a GPU provider
  --out <file.png>           where to write the image (required)
  --raw <file.safetensors>   also write the float image [n,H,W,3] in [0,1] as tensor "image"
  --force                    overwrite existing output files
  --text <text>              the text the image must show (default: what the prompt quotes); the image
                             is read back with OCR and the score stored in its "letterpress" chunk
  --candidates <n|auto>      generate n seeds, keep the one OCR reads closest to the text (stops early
                             on an exact match); auto: 4 on a GPU, 1 on the CPU
  --exact-fallback           when no candidate spells the text, draw it exactly over the best one
  --text-position <p>        top, centre or bottom: where the fallback draws when OCR found no text
  --keep-candidates          also write the candidates that lost, as <out>-candidate-<seed>.png
  --layout <mode>            layout-first text: auto (the default with --candidates or --exact-fallback):
                             when no candidate spells the text, draw it as a layout for the model to
                             restyle (image-to-image), then repaint the best one's text region over
                             drawn letters (inpainting), before any fallback; always: only those; off
  --layout-strength <s>      how far image-to-image repaints the layout, 0.05 to 1 (default 0.7)
`;

/** Errors of the runtime's modules that describe a problem with the request or the model files. */
const userFixableErrors = new Set([
  'GenerationError',
  'NonFiniteOutputError',
  'SchedulerConfigError',
  'FileReadError',
  'ExecutionProviderError',
  'ClipTokenizerError',
  'ModelFilesError',
  'UnsupportedModelError',
  'SafetensorsError',
]);

function parseNumberOption(name: string, value: string | undefined, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new CliError(`--${name} expects ${integer ? 'a whole number' : 'a number'}, got "${value}"`);
  }
  return n;
}

function outputPaths(out: string, count: number): string[] {
  if (count === 1) return [out];
  const ext = extname(out) || '.png';
  const stem = join(dirname(out), basename(out, extname(out)));
  return Array.from({ length: count }, (_, i) => `${stem}-${i + 1}${ext}`);
}

interface InitialLatents {
  data: Float32Array;
  /** [images, channels, height/8, width/8] */
  shape: [number, number, number, number];
}

async function readLatents(spec: string, option = 'latents'): Promise<InitialLatents> {
  const hash = spec.lastIndexOf('#');
  if (hash <= 0 || hash === spec.length - 1) {
    throw new CliError(`--${option} expects <file.safetensors>#<tensor name>, got "${spec}"`);
  }
  const file = spec.slice(0, hash);
  const name = spec.slice(hash + 1);
  let tensors;
  try {
    tensors = await openSafetensors(file);
  } catch (error) {
    throw new CliError(`cannot read --${option} file ${file}: ${(error as Error).message}`);
  }
  try {
    if (!tensors.tensors.has(name)) {
      const names = [...tensors.tensors.keys()];
      throw new CliError(`${file} has no tensor "${name}" (it has ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''})`);
    }
    const shape = tensors.tensors.get(name)!.shape;
    const nchw = shape.length === 3 ? [1, ...shape] : shape;
    if (nchw.length !== 4) {
      throw new CliError(`--${option} tensor "${name}" has shape [${shape.join(', ')}]; expected [images, 4, height/8, width/8]`);
    }
    return { data: await tensors.readFloat32(name), shape: nchw as InitialLatents['shape'] };
  } finally {
    await tensors.close();
  }
}

/**
 * Progress on stderr: on a terminal, counters rewrite one line in place; in a log, each step is a
 * line and a download one line per file.
 */
function progressPrinter(): (event: ProgressEvent) => void {
  const tty = process.stderr.isTTY;
  let openLine = false;
  let lastConvert = '';
  let lastFile = '';
  const status = (text: string, finished: boolean): void => {
    if (!tty) {
      process.stderr.write(`${text}\n`);
      return;
    }
    process.stderr.write(`\r${text}\x1b[K${finished ? '\n' : ''}`);
    openLine = !finished;
  };
  const line = (text: string): void => {
    process.stderr.write(`${openLine ? '\n' : ''}${text}\n`);
    openLine = false;
  };
  return (event) => {
    switch (event.status) {
      case 'step': {
        // Images denoised together in one UNet call advance together: one line for the batch.
        const images = event.images ?? 1;
        const which = images > 1 ? `images ${event.image + 1}-${event.image + images}` : `image ${event.image + 1}`;
        status(`${which}: step ${event.step}/${event.total} (${(event.elapsedMs / 1000).toFixed(1)} s)`, event.step === event.total);
        break;
      }
      case 'convert': {
        const text = `converting ${event.component} to ONNX: ${event.done}/${event.total}`;
        if (text !== lastConvert) status(text, event.done === event.total);
        lastConvert = text;
        break;
      }
      case 'download':
        if (tty) status(`downloading ${event.file}: ${Math.round((100 * event.bytes) / Math.max(1, event.total))}%`, false);
        else if (event.file !== lastFile) line(`downloading ${event.file}`);
        lastFile = event.file;
        break;
      case 'load':
        line(`loading ${event.component} on ${event.provider}`);
        break;
      case 'message':
        line(`${event.level === 'warning' ? 'warning: ' : ''}${event.text}`);
        break;
      case 'decode':
      case 'done':
        break;
    }
  };
}

export async function runGenerateCommand(args: string[]): Promise<void> {
  const v = parseCliOptions(
    args,
    {
      model: { type: 'string' },
      prompt: { type: 'string' },
      'negative-prompt': { type: 'string' },
      steps: { type: 'string' },
      guidance: { type: 'string' },
      scheduler: { type: 'string' },
      width: { type: 'string' },
      height: { type: 'string' },
      seed: { type: 'string' },
      'num-images': { type: 'string' },
      'batch-size': { type: 'string' },
      latents: { type: 'string' },
      'init-image': { type: 'string' },
      strength: { type: 'string' },
      mask: { type: 'string' },
      'encoder-noise': { type: 'string' },
      device: { type: 'string' },
      fp16: { type: 'boolean' },
      out: { type: 'string' },
      raw: { type: 'string' },
      force: { type: 'boolean' },
      text: { type: 'string' },
      candidates: { type: 'string' },
      'exact-fallback': { type: 'boolean' },
      'text-position': { type: 'string' },
      'keep-candidates': { type: 'boolean' },
      layout: { type: 'string' },
      'layout-strength': { type: 'string' },
    },
    { usage: usage.trimEnd() },
  );
  if (!v) return;
  if (v.prompt === undefined) throw new CliError(`--prompt is required\n\n${usage}`);
  if (!v.out) throw new CliError(`--out is required\n\n${usage}`);
  const initImage = v['init-image'];
  const strength = parseNumberOption('strength', v.strength, false);
  if (strength !== undefined && initImage === undefined) throw new CliError('--strength needs --init-image <img>');
  if (v.mask !== undefined && initImage === undefined) throw new CliError('--mask needs --init-image <img> (the image to repaint)');
  if (v['encoder-noise'] !== undefined && initImage === undefined) throw new CliError('--encoder-noise needs --init-image <img>');
  const latents = v.latents ? await readLatents(v.latents) : undefined;
  const encoderNoise = v['encoder-noise'] ? await readLatents(v['encoder-noise'], 'encoder-noise') : undefined;
  // The start image's own size (read from its header, bounded) is the default size.
  let imageSize: { width: number; height: number } | undefined;
  if (initImage !== undefined) {
    try {
      imageSize = startImageOutputSize(await encodedImageSize(await readImageBytes(initImage), initImage));
    } catch (error) {
      throw error instanceof GenerationError ? new CliError(error.message) : error;
    }
  }
  // Size and count default to those of the given latents, else the start image's; explicit ones must agree.
  const givenNoise = latents ?? encoderNoise;
  const numImages = parseNumberOption('num-images', v['num-images'], true) ?? givenNoise?.shape[0] ?? 1;
  const width = parseNumberOption('width', v.width, true) ?? (givenNoise ? givenNoise.shape[3] * 8 : (imageSize?.width ?? 512));
  const height = parseNumberOption('height', v.height, true) ?? (givenNoise ? givenNoise.shape[2] * 8 : (imageSize?.height ?? 512));
  for (const [option, tensor] of [['latents', latents], ['encoder-noise', encoderNoise]] as const) {
    if (!tensor) continue;
    const [n, , h, w] = tensor.shape;
    if (n !== numImages || h * 8 !== height || w * 8 !== width) {
      throw new CliError(
        `--${option} holds ${n} image(s) of ${w * 8}x${h * 8} (shape [${tensor.shape.join(', ')}]), ` +
          `but ${numImages} image(s) of ${width}x${height} were asked for`,
      );
    }
  }
  const steps = parseNumberOption('steps', v.steps, true) ?? 25;
  if (initImage !== undefined && Number.isInteger(steps) && steps >= 1 && stepsForStrength(steps, strength ?? defaultStrength) < 1) {
    throw new CliError(`--strength ${strength ?? defaultStrength} with ${steps} steps leaves no step to run (int(steps x strength) = 0): raise --strength or --steps`);
  }
  if (v.mask !== undefined && width % 8 === 0 && height % 8 === 0 && width > 0 && height > 0) {
    // A mask with nothing to repaint would only give the start image back through the VAE.
    try {
      const mask = await prepareMask(v.mask, width, height, 8);
      if (mask.whitePixels === 0) throw new CliError(`the mask ${v.mask} has no white pixel: paint what to repaint white (black is kept)`);
      if (mask.repaintedCells === 0) throw new CliError(`the mask ${v.mask} has too little white: paint at least an 8x8-pixel area`);
    } catch (error) {
      throw error instanceof GenerationError ? new CliError(error.message) : error;
    }
  }
  const batchSize = parseNumberOption('batch-size', v['batch-size'], true);
  const seed = parseNumberOption('seed', v.seed, true) ?? randomSeed();
  const force = v.force ?? false;
  const target = resolveTargetText({ prompt: v.prompt, text: v.text });
  const plan = planLegibleJob({
    target,
    candidates: v.candidates === 'auto' ? 'auto' : parseNumberOption('candidates', v.candidates, true),
    exactFallback: v['exact-fallback'],
    position: v['text-position'],
    numImages,
    fixedLatents: v.latents !== undefined || v['encoder-noise'] !== undefined,
    layout: v.layout,
    layoutStrength: parseNumberOption('layout-strength', v['layout-strength'], false),
  });
  if ('error' in plan) throw new CliError(plan.error);
  if (plan.request && v.raw) throw new CliError('--raw cannot be combined with --candidates or --exact-fallback');
  if (v['keep-candidates'] && !plan.request) throw new CliError('--keep-candidates needs --candidates (or --exact-fallback)');

  // The same request the host sends to the runtime process, checked by the same validator; the model
  // folder and the job's scratch folder are filled in once known.
  const modelName = v.model ?? defaultModelId;
  const params: GenerateImageParams = {
    jobId: 'cli',
    outputDir: resolve(dirname(v.out)),
    options: {
      modelDir: modelName,
      modelName,
      prompt: v.prompt,
      negativePrompt: v['negative-prompt'],
      steps,
      guidanceScale: parseNumberOption('guidance', v.guidance, false) ?? 7.5,
      scheduler: v.scheduler as SchedulerName | undefined,
      width,
      height,
      seed,
      numImages,
      batchSize,
      device: (v.device as DeviceSetting | undefined) ?? 'auto',
      fp16: v.fp16 ?? false,
      ...(initImage !== undefined ? { initImage, strength: strength ?? defaultStrength } : {}),
      ...(v.mask !== undefined ? { mask: v.mask } : {}),
    },
    // Scoring alone (a quoted prompt, one candidate) is the runtime's candidates: 1.
    legibility: plan.request
      ? {
          target: plan.request.target,
          candidates: plan.request.candidates,
          exactFallback: plan.request.exactFallback,
          position: plan.request.position,
          layout: plan.request.layout,
          layoutStrength: plan.request.layoutStrength,
          keepCandidates: v['keep-candidates'] ?? false,
        }
      : target
        ? { target, candidates: 1, exactFallback: false, keepCandidates: false }
        : undefined,
  };
  const problem = validateParams(generateImageRequest.validate, params);
  if (problem) {
    const quoted = v.text === undefined && problem.path.join('.') === 'legibility.target';
    throw new CliError(formatProblem(problem, (path) => (quoted ? 'the text the prompt quotes' : generateFlagOf(path))));
  }

  const pngPaths = outputPaths(v.out, Math.max(1, numImages));
  // The candidates' seeds are known up front, so their names can be checked before any work.
  const out = v.out;
  const candidatePath = (candidateSeed: number) => `${join(dirname(out), basename(out, extname(out)))}-candidate-${candidateSeed}${extname(out) || '.png'}`;
  // Every phase (text-to-image, layout-first, repair) may make up to that many, auto up to 4 each.
  const phases = plan.request ? legiblePhases(plan.request).length : 0;
  const candidatePaths =
    v['keep-candidates'] && plan.request ? Array.from({ length: (plan.request.candidates || 4) * phases }, (_, i) => candidatePath(imageSeed(seed, i))) : [];
  await checkCliOutputs(
    [
      ...pngPaths.map((path) => ({ flag: '--out', path })),
      ...candidatePaths.map((path) => ({ flag: '--keep-candidates', path })),
      ...(v.raw ? [{ flag: '--raw', path: v.raw }] : []),
    ],
    force,
  );
  const device = params.options.device ?? 'auto';
  const cost = device === 'cpu' || device === 'auto' ? sizeCostNote(width, height) : undefined;
  if (cost && sizeCostFactor(width, height) > 4) process.stderr.write(`note: ${cost}\n`);

  const onProgress = progressPrinter();
  let modelDir: string;
  try {
    ({ modelDir } = await resolveModel({ model: modelName, onProgress }));
  } catch (error) {
    throw new CliError(`cannot use model ${modelName}: ${(error as Error).message}`);
  }

  // Providers that cannot run here are reported in one line (providerNote); ONNX Runtime's own
  // error log for each of them would only bury it.
  ortEnv.logLevel = 'fatal';
  const generator = new ImageGenerator({ idleUnloadMs: 0 });
  // The runtime's job (runtime/jobs/generateImageJob.ts) runs it, as for the extension; the CLI only
  // adds the start noise of --latents and keeps the float images for --raw.
  let raw: GeneratedImage[] = [];
  let batchUsed = 1;
  const cliGenerator: ImageGeneratorLike = {
    generate: async (options, hooks) => {
      const result = await generator.generate(options, { ...hooks, latents: latents?.data, encoderNoise: encoderNoise?.data });
      raw = result.images;
      batchUsed = result.batchSize;
      return result;
    },
    unload: () => generator.unload(),
    dispose: () => generator.dispose(),
  };
  const scratch = await mkdtemp(join(tmpdir(), 'letterpress-generate-'));
  try {
    let result: GenerateImageResult;
    try {
      result = await runGenerateImageJob(
        cliGenerator,
        { ...params, outputDir: scratch, options: { ...params.options, modelDir } },
        {
          signal: new AbortController().signal,
          onProgress,
          log: (line) => process.stderr.write(`${line}\n`),
          batchSize,
        },
      );
    } catch (error) {
      if (userFixableErrors.has((error as Error)?.name)) throw new CliError((error as Error).message);
      if (error instanceof RuntimeError && (error.code === 'userError' || error.code === 'invalidParams')) throw new CliError(error.message);
      throw error;
    } finally {
      await generator.dispose();
    }
    if (!plan.request) {
      const t = result.timingsMs;
      const batching = result.images.length > 1 ? `, up to ${batchUsed} images per UNet call` : '';
      process.stderr.write(
        `done in ${(t.total / 1000).toFixed(1)} s (load ${(t.load / 1000).toFixed(1)} s, denoise ${(t.denoise / 1000).toFixed(1)} s, decode ${(t.decode / 1000).toFixed(1)} s${batching})\n`,
      );
      for (const image of result.images) if (image.legibility) process.stderr.write(`${describeScore(image.legibility)}\n`);
    }

    for (const [i, image] of result.images.entries()) {
      await writeCliOutput(pngPaths[i], { copyOf: image.file }, force);
      process.stdout.write(`${pngPaths[i]} (seed ${image.seed})\n`);
    }
    for (const candidate of result.candidates ?? []) {
      const path = candidatePath(candidate.seed);
      await writeCliOutput(path, { copyOf: candidate.file }, force);
      process.stdout.write(`${path} (candidate, seed ${candidate.seed})\n`);
    }
    if (v.raw) {
      const { width, height } = raw[0];
      const data = new Float32Array(raw.length * width * height * 3);
      raw.forEach((image, i) => data.set(image.pixels, i * image.pixels.length));
      await writeCliOutput(v.raw, safetensorsTensorsWriter(v.raw, { image: { dtype: 'F32', shape: [raw.length, height, width, 3], data } }), force);
      process.stdout.write(`${v.raw}\n`);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The CLI flag behind each field of GenerateImageParams, for the validator's messages. */
const generateFlags: Record<string, string> = {
  'options.modelDir': '--model',
  'options.modelName': '--model',
  'options.prompt': '--prompt',
  'options.negativePrompt': '--negative-prompt',
  'options.steps': '--steps',
  'options.guidanceScale': '--guidance',
  'options.scheduler': '--scheduler',
  'options.width': '--width',
  'options.height': '--height',
  'options.seed': '--seed',
  'options.numImages': '--num-images',
  'options.batchSize': '--batch-size',
  'options.device': '--device',
  'options.initImage': '--init-image',
  'options.strength': '--strength',
  'options.mask': '--mask',
  'legibility.target': '--text',
  'legibility.candidates': '--candidates',
  'legibility.position': '--text-position',
  'legibility.layout': '--layout',
  'legibility.layoutStrength': '--layout-strength',
  outputDir: '--out',
};

export function generateFlagOf(path: FieldPath): string {
  const key = path.join('.');
  return generateFlags[key] ?? key;
}
