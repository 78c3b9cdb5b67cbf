// One job from the user's side, whoever asked for it: the palette's Generate Image…, the comment
// command, Draw Exact Text… and the gallery panel all run a generation or a drawing through here.
// The flow checks the output folder (and, to generate, the model), queues the runtime request on the
// host's one queue (services.jobs), forwards its progress (the runtime's ProgressEvent union),
// cancels it on request at any point, places the runtime's PNGs into the workspace (never replacing
// a file) and cleans up its temporary folder. What differs between the callers is only how the job
// is shown: a notification (jobNotification.ts) or the panel's job row (gallery/galleryJobs.ts).
// Free of `vscode` (the callers pass the workspace and its settings in), so a test drives it with a
// real runtime process.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { writeAtFreeName } from '../../runtime/files/newFiles.ts';
import type { GenerateOptions, ProgressEvent, SchedulerName } from '../../runtime/protocol/generationTypes.ts';
import { describeLimit, limits, randomSeed, withinLimit } from '../../runtime/protocol/limits.ts';
import type { PixelBox } from '../../runtime/protocol/paramsValidation.ts';
import {
  RuntimeError,
  type FixTextParams,
  type FixTextResult,
  type GenerateImageResult,
  type ImageLegibility,
} from '../../runtime/protocol/runtimeProtocol.ts';
import { Emitter, type Event } from '../runtime/emitter.ts';
import type { JobHandle, JobQueue } from '../runtime/jobQueue.ts';
import type { LetterpressSettings } from '../settings.ts';
import { placeGeneratedImages } from '../workspace/imagePlacement.ts';
import { outputBaseName } from '../workspace/outputFileName.ts';
import { isInside, OutputPathError, resolveOutputFolder, workspaceFile } from '../workspace/workspacePaths.ts';
import { drawnBaseName, drawnImageFolder } from './drawTextFlow.ts';
import { legibilityOptionsFor } from './legibilityOptions.ts';

/** What a job needs of the extension's services. */
export interface FlowServices {
  jobs: Pick<JobQueue, 'generate' | 'drawText' | 'fixText'>;
  /** `ensure` may offer the download; `locate` only finds a model already on disk. */
  models: { ensure(): Promise<string | undefined>; locate(): Promise<string | undefined> };
  statusBar: { setProvider(provider: string, note: string): void };
  log: { info(line: string): void };
}

/** The workspace folder a job writes into, with the settings that apply there. */
export interface JobWorkspace {
  /** The folder's path. */
  root: string;
  settings: LetterpressSettings;
  /** Every workspace folder's path: a drawing goes beside its image when that is in any of them. */
  roots: readonly string[];
  /** Restricted Mode (false) keeps drawings inside the output folder. */
  trusted: boolean;
}

/** A job on its way: checked, queued, run, placed. */
export interface FlowJob<Outcome, Plan = void> {
  /** The job's id in the host's queue (services.jobs), from the start. */
  readonly id: string;
  /** Resolves once the checks passed and the job is in the queue, with what was queued; rejects as `result` does when it never got there. */
  readonly queued: Promise<Plan>;
  /** What was written; rejects with RuntimeError code 'cancelled' when cancelled. */
  readonly result: Promise<Outcome>;
  readonly onProgress: Event<ProgressEvent>;
  /** Stops the job wherever it is: before it is queued, while queued or while the runtime runs it. */
  cancel(): void;
}

/** The user declined to download the model or to pick one (they were told what to do). */
export class ModelDeclinedError extends RuntimeError {
  constructor() {
    super('modelMissing', 'No model: download it or set "letterpress.model" to a model folder.');
  }
}

export interface GenerationJobRequest {
  workspace: JobWorkspace;
  prompt: string;
  negativePrompt?: string;
  width: number;
  height: number;
  /** Preset name for the file name ("banner"). */
  presetName?: string;
  /** Per-job choices (the gallery form); the settings otherwise. */
  steps?: number;
  guidanceScale?: number;
  scheduler?: SchedulerName;
  seed?: number;
  numImages?: number;
  /** Explicit text to render (else what the prompt quotes) and per-job overrides of the text settings. */
  text?: string;
  candidates?: number;
  exactFallback?: boolean;
  /** Image-to-image (with a mask or rectangle: inpainting) from a workspace image. */
  startImage?: StartImageRequest;
}

/** A start image as a caller picked it; its files are checked to be inside the workspace before the job is queued. */
export interface StartImageRequest {
  /** Absolute path of a PNG, JPEG or WebP file in a workspace folder. */
  path: string;
  /** 0–1: how much of it is repainted. */
  strength: number;
  /** Absolute path of a mask image in a workspace folder (white = repaint). */
  maskPath?: string;
  /** Or a rectangle to repaint, in pixels of the output size. */
  maskBox?: PixelBox;
}

/** What a generation queued: images asked for, and whether they are candidates of one best-of-N image. */
export interface GenerationPlan {
  numImages: number;
  bestOfN: boolean;
}

export interface PlacedImage {
  path: string;
  seed: number;
  parameters: string;
  legibility?: ImageLegibility;
}

export interface GenerationOutcome {
  images: PlacedImage[];
  /** Losing best-of-N candidates kept in `candidates/`, best first. */
  candidates: string[];
  provider: string;
}

export interface DrawingJobRequest {
  imagePath: string;
  target: string;
  workspace: JobWorkspace;
}

export interface DrawingOutcome {
  path: string;
  result: FixTextResult;
}

export function shortPrompt(prompt: string, max = 40): string {
  return prompt.length > max ? `${prompt.slice(0, max - 1)}…` : prompt;
}

interface FlowSteps<Result, Outcome, Plan> {
  /** Checks and everything that may ask the user (the model download); runs before the job is queued. */
  prepare(): Promise<{ plan: Plan; submit(id: string, tempDir: string): JobHandle<Result>; place(result: Result): Promise<Outcome> }>;
}

function startFlow<Result, Outcome, Plan>(steps: FlowSteps<Result, Outcome, Plan>): FlowJob<Outcome, Plan> {
  const id = randomUUID();
  const progress = new Emitter<ProgressEvent>();
  let cancelled = false;
  let job: JobHandle<Result> | undefined;
  let markQueued!: (plan: Plan) => void;
  let failQueued!: (error: unknown) => void;
  const queued = new Promise<Plan>((resolve, reject) => {
    markQueued = resolve;
    failQueued = reject;
  });
  // Whoever follows only `result` must not see an unhandled rejection of `queued`.
  queued.catch(() => undefined);
  const throwIfCancelled = () => {
    if (cancelled) throw new RuntimeError('cancelled', 'Cancelled.');
  };
  const result = (async (): Promise<Outcome> => {
    let tempDir: string | undefined;
    try {
      const prepared = await steps.prepare();
      throwIfCancelled();
      tempDir = await mkdtemp(join(tmpdir(), 'letterpress-job-'));
      job = prepared.submit(id, tempDir);
      job.onProgress((event) => progress.fire(event));
      markQueued(prepared.plan);
      return await prepared.place(await job.result);
    } catch (error) {
      failQueued(error);
      throw error;
    } finally {
      if (tempDir) await rm(tempDir, { recursive: true, force: true }).catch(() => {});
      progress.dispose();
    }
  })();
  return {
    id,
    queued,
    result,
    onProgress: progress.event,
    cancel() {
      cancelled = true;
      job?.cancel();
    },
  };
}

/** Generates images and places them in the output folder (losing best-of-N candidates in `candidates/`). */
export function startGeneration(services: FlowServices, request: GenerationJobRequest): FlowJob<GenerationOutcome, GenerationPlan> {
  return startFlow({
    async prepare() {
      const { root, settings } = request.workspace;
      await resolveOutputFolder(root, settings.outputFolder);
      const modelDir = await services.models.ensure();
      if (!modelDir) throw new ModelDeclinedError();
      const start = request.startImage ? await startImageOptions(request.startImage, request.workspace) : {};
      const scheduler = request.scheduler ?? settings.scheduler;
      const options: GenerateOptions = {
        modelDir,
        prompt: request.prompt,
        negativePrompt: request.negativePrompt ?? '',
        steps: request.steps ?? settings.steps,
        guidanceScale: request.guidanceScale ?? settings.guidanceScale,
        ...(scheduler ? { scheduler } : {}),
        width: request.width,
        height: request.height,
        seed: request.seed ?? settings.seed ?? randomSeed(),
        numImages: request.numImages ?? 1,
        device: settings.device,
        fp16: settings.fp16,
        ...start,
      };
      // Undefined without a text to check or with the check switched off: a plain job.
      const legibility = legibilityOptionsFor(
        {
          prompt: request.prompt,
          numImages: options.numImages,
          ...(request.text !== undefined ? { text: request.text } : {}),
          ...(request.candidates !== undefined ? { candidates: request.candidates } : {}),
          ...(request.exactFallback !== undefined ? { exactFallback: request.exactFallback } : {}),
          // Layout-first text starts from its own drawing of the text, never from the user's image.
          ...(request.startImage ? { layout: 'off' as const } : {}),
        },
        settings,
      );
      return {
        plan: { numImages: options.numImages ?? 1, bestOfN: legibility !== undefined && options.numImages === 1 },
        submit: (id, outputDir) =>
          services.jobs.generate(shortPrompt(request.prompt), { options, outputDir, ...(legibility ? { legibility } : {}) }, id),
        async place(result: GenerateImageResult): Promise<GenerationOutcome> {
          services.statusBar.setProvider(result.provider, result.providerNote);
          services.log.info(`Generated ${result.images.length} image(s) on ${result.provider}: ${JSON.stringify(result.timingsMs)}`);
          // Checked again: the folder may have been replaced by a link while the job ran.
          const folder = await resolveOutputFolder(root, settings.outputFolder);
          const paths = await placeGeneratedImages(result, folder, outputBaseName(request.prompt, request.presetName));
          const images = result.images.map((image, i): PlacedImage => ({
            path: paths.images[i]!,
            seed: image.seed,
            parameters: image.parameters,
            ...(image.legibility ? { legibility: image.legibility } : {}),
          }));
          return { images, candidates: paths.candidates, provider: result.provider };
        },
      };
    },
  });
}

/**
 * Fix text: the model repaints the image's text region over the drawn glyphs (inpainting, OCR-ranked
 * candidates), the plate only when no candidate reads exactly or no model is on disk (Fix text never
 * starts a download); places `<stem>-text.png` beside the image (else in the output folder).
 */
export function startDrawing(services: FlowServices, request: DrawingJobRequest): FlowJob<DrawingOutcome> {
  return startFlow({
    async prepare() {
      const { root, settings, roots, trusted } = request.workspace;
      const outputFolder = await resolveOutputFolder(root, settings.outputFolder);
      const modelDir = await services.models.locate().catch(() => undefined);
      if (!modelDir) services.log.info(`Letterpress: no model on disk; the text on ${request.imagePath} is drawn on a plate`);
      return {
        plan: undefined,
        submit: (id, outputDir) => {
          const params: Omit<FixTextParams, 'jobId'> = {
            input: request.imagePath,
            target: request.target,
            outputDir,
            ...(settings.exactTextPosition ? { position: settings.exactTextPosition } : {}),
            ...(modelDir
              ? { model: { modelDir, ...(settings.model ? { modelName: settings.model } : {}), device: settings.device, fp16: settings.fp16, candidates: settings.candidates } }
              : {}),
          };
          return services.jobs.fixText(`fix the text of ${basename(request.imagePath)}`, params, id);
        },
        async place(result: FixTextResult): Promise<DrawingOutcome> {
          const wanted = drawnImageFolder({ imagePath: request.imagePath, workspaceRoots: roots, outputFolder, trusted });
          // Checked now, after the job: a folder that leads out of the workspace through a link gets nothing.
          const folder = await confined(wanted, roots).catch(() => resolveOutputFolder(root, settings.outputFolder));
          const path = await writeAtFreeName(folder, drawnBaseName(request.imagePath), '.png', { copyOf: result.file });
          const how = result.mode === 'repair' ? `repaired by the model (best of ${result.repairCandidates})` : `drawn on a plate${result.plateReason ? ` (${result.plateReason})` : result.repairCandidates > 0 ? ` (no repair of ${result.repairCandidates} read exactly)` : ''}`;
          services.log.info(`Letterpress: “${result.legibility.target}” on ${request.imagePath} ${how} → ${path}; OCR reads ${JSON.stringify(result.legibility.ocrText)}`);
          return { path, result };
        },
      };
    },
  });
}

/**
 * The start image's part of the generation options: its files' real paths, checked to be inside the
 * workspace (a page or a link could name any file), and the workspace folder its record is relative to.
 */
async function startImageOptions(start: StartImageRequest, workspace: JobWorkspace): Promise<Partial<GenerateOptions>> {
  const roots = workspace.roots.length > 0 ? workspace.roots : [workspace.root];
  if (!withinLimit(limits.strength, start.strength)) throw new RuntimeError('userError', `The strength must be ${describeLimit(limits.strength)}, got ${start.strength}.`);
  if (start.maskPath !== undefined && start.maskBox !== undefined) throw new RuntimeError('userError', 'Give a mask image or a rectangle to repaint, not both.');
  const initImage = await workspaceFile(start.path, roots, 'start image');
  const mask = start.maskPath === undefined ? undefined : await workspaceFile(start.maskPath, roots, 'mask');
  return {
    initImage,
    strength: start.strength,
    ...(mask ? { mask } : {}),
    ...(start.maskBox ? { maskBox: start.maskBox } : {}),
    workspaceDir: workspace.root,
  };
}

async function confined(folder: string, roots: readonly string[]): Promise<string> {
  const root = roots.find((candidate) => isInside(candidate, folder));
  if (!root) throw new OutputPathError(`${folder} is outside the workspace`);
  return resolveOutputFolder(root, relative(root, folder) || '.');
}
