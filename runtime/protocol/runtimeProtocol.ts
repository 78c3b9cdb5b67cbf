// The one protocol between the extension host and the runtime child process. Both sides import
// the descriptors below, so a method name, its parameters and its result type cannot drift apart.
// Transport: Node's IPC channel with the 'advanced' (structured clone) serialization, so typed
// arrays such as step previews cross as they are; finished images cross as files, never as bytes.
import {
  candidateModes,
  deviceSettings,
  schedulerNames,
  textPositions,
  type CandidateMode,
  type DeviceSetting,
  type GenerateOptions,
  type ProgressEvent,
  type TextPosition,
} from './generationTypes.ts';
import { cropStrategies, exportPresetNames, exportPresets, type CropStrategy, type ExportPresetName } from './exportPresets.ts';
import { textLayoutModes, type TextLayoutMode } from './layoutOptions.ts';
import { limits } from './limits.ts';
import { normaliseTargetText } from './targetText.ts';
import {
  absolutePath,
  boolean,
  bytes,
  fileName,
  numberIn,
  oneOf,
  optional,
  pixelBox,
  record,
  text,
  type ParamsProblem,
  validator,
  type Validator,
} from './paramsValidation.ts';

/**
 * A request the host sends and the runtime answers. `P`/`R` only exist for the type checker.
 * `validate` is the one check of the params at this boundary: the runtime server runs it before
 * any handler and answers `invalidParams` with its one-line message.
 */
export interface RequestType<P, R> {
  readonly kind: 'request';
  readonly method: string;
  /** How long the host waits for the answer before it gives up and cancels the request. */
  readonly timeoutMs: number;
  readonly validate: Validator<P>;
  readonly __types?: (params: P) => R;
}

/** A one-way message (either direction) without an answer; the receiver drops one that fails `validate`. */
export interface NotificationType<P> {
  readonly kind: 'notification';
  readonly method: string;
  readonly validate: Validator<P>;
  readonly __types?: (params: P) => void;
}

export type RequestParams<T> = T extends RequestType<infer P, unknown> ? P : never;
export type RequestResult<T> = T extends RequestType<unknown, infer R> ? R : never;

export function requestType<P, R>(method: string, timeoutMs: number, validate: Validator<P>): RequestType<P, R> {
  return { kind: 'request', method, timeoutMs, validate };
}

export function notificationType<P>(method: string, validate: Validator<P>): NotificationType<P> {
  return { kind: 'notification', method, validate };
}

const request = requestType;
const notification = notificationType;

// ---- field validators shared by several requests ------------------------------------------------

const jobId = text({ nonBlank: true, limit: { maxChars: 200 } });

/**
 * The text an image must show, judged as it will be drawn and read (lines trimmed, `\n` typed as
 * two characters is a line break): not empty and within the table's length.
 */
export const targetTextValidator = validator<string>((v, path) => {
  if (typeof v !== 'string') return { path, problem: `must be text, got ${typeof v}` };
  // Normalising only shortens; a raw text far past the limit is refused without reading it all.
  const max = limits.targetText.maxChars;
  const normalised = normaliseTargetText(v.length > 4 * max ? v.slice(0, 4 * max + 1) : v);
  if (!normalised) return { path, problem: 'is empty: type the exact words the image should show' };
  if (normalised.length > max) {
    const length = v.length > 4 * max ? `more than ${4 * max}` : String(normalised.length);
    return { path, problem: `is ${length} characters long; at most ${max} fit in an image` };
  }
  return undefined;
});
/** Paths, repo ids, revisions and tokens: generous, but not unbounded. */
const pathText = { maxChars: 4096 } as const;

export const runtimeErrorCodes = [
  /** The job was cancelled (by the user, or because the host timed the request out). */
  'cancelled',
  /** The host waited longer than the request's timeout. */
  'timeout',
  /** The runtime process exited (crashed, was killed or was stopped) before it answered. */
  'processExited',
  /** The runtime cannot be started or was given up on after repeated crashes. */
  'unavailable',
  'methodNotFound',
  'invalidParams',
  /** The model is not on disk (and the request asked not to download it). */
  'modelMissing',
  /** Something the user can fix: a bad setting, a missing file, an unsupported size. */
  'userError',
  /** A bug: the message and stack are in the log. */
  'internal',
] as const;
export type RuntimeErrorCode = (typeof runtimeErrorCodes)[number];

export interface WireError {
  code: RuntimeErrorCode;
  message: string;
  /** Stack trace or extra lines for the log; not shown to users. */
  detail?: string;
}

/** A typed error that crosses the process boundary with its code. */
export class RuntimeError extends Error {
  override readonly name = 'RuntimeError';
  constructor(
    readonly code: RuntimeErrorCode,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
  }

  toWire(): WireError {
    return { code: this.code, message: this.message, ...(this.detail ? { detail: this.detail } : {}) };
  }

  static fromWire(error: WireError): RuntimeError {
    const code = (runtimeErrorCodes as readonly string[]).includes(error.code) ? error.code : 'internal';
    return new RuntimeError(code, error.message, error.detail);
  }
}

export function isRuntimeError(error: unknown, code?: RuntimeErrorCode): error is RuntimeError {
  return error instanceof RuntimeError && (code === undefined || error.code === code);
}

export type WireMessage =
  | { type: 'request'; id: number; method: string; params: unknown }
  | { type: 'response'; id: number; result?: unknown; error?: WireError }
  | { type: 'notification'; method: string; params: unknown };

export function isWireMessage(value: unknown): value is WireMessage {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  if (m.type === 'request') return typeof m.id === 'number' && typeof m.method === 'string';
  if (m.type === 'response') return typeof m.id === 'number';
  if (m.type === 'notification') return typeof m.method === 'string';
  return false;
}

const second = 1000;
const minute = 60 * second;
const hour = 60 * minute;

// ---- process ------------------------------------------------------------------------------------

/**
 * The environment variable that hands the runtime its parent's pid (the extension host): the runtime
 * exits when that process is gone (runtime/process/parentWatch.ts).
 */
export const parentPidEnv = 'LETTERPRESS_PARENT_PID';

export interface ConfigureParams {
  /** Unload the model's sessions after this long without a job (0 = never). */
  idleUnloadMs: number;
}
export interface ConfigureResult {
  pid: number;
  nodeVersion: string;
}
/** Sent once after every (re)start, before any other request. */
export const configureRequest = request<ConfigureParams, ConfigureResult>(
  'runtime/process/configure',
  30 * second,
  record<ConfigureParams>({ idleUnloadMs: numberIn({ ...limits.idleUnloadMinutes, max: limits.idleUnloadMinutes.max * minute, integer: false }) }),
);

/** The runtime's own log lines (stderr carries the rest: native crashes, uncaught errors). */
export interface LogParams {
  level: 'info' | 'warning' | 'error';
  text: string;
}
export const logNotification = notification<LogParams>(
  'runtime/log/write',
  record<LogParams>({ level: oneOf(['info', 'warning', 'error']), text: text() }),
);

// ---- jobs ---------------------------------------------------------------------------------------

/** Every long request carries a job id, so the host can cancel it and route its progress. */
export interface JobParams {
  jobId: string;
}

export interface JobProgressParams extends JobParams {
  event: ProgressEvent;
}
export const jobProgressNotification = notification<JobProgressParams>(
  'runtime/job/progress',
  // The runtime made the event; the status tag is what routing and rendering switch on.
  record<JobProgressParams>({
    jobId,
    event: validator<ProgressEvent>((v, path) =>
      typeof v === 'object' && v !== null && typeof (v as { status?: unknown }).status === 'string'
        ? undefined
        : { path, problem: 'must be a progress event with a status' },
    ),
  }),
);

export interface CancelJobResult {
  /** False when no job with that id was running (already finished, or never started). */
  cancelled: boolean;
}
export const cancelJobRequest = request<JobParams, CancelJobResult>('runtime/job/cancel', 10 * second, record<JobParams>({ jobId }));

/** Which request to cancel: the `id` of its wire message. */
export interface CancelRequestParams {
  id: number;
}
/**
 * Cancels any request by its wire id, as vscode-languageserver-node's `$/cancelRequest`: the
 * runtime aborts that request's signal; the request still answers (usually `cancelled`). The host
 * sends it when a request's signal is aborted or its timeout passes.
 */
export const cancelRequestNotification = notification<CancelRequestParams>(
  'runtime/request/cancel',
  record<CancelRequestParams>({ id: numberIn({ min: 1, max: Number.MAX_SAFE_INTEGER, integer: true }) }),
);

// ---- images -------------------------------------------------------------------------------------

/** Text the image must spell, and how hard to try (issue: legible text). */
export interface LegibilityOptions {
  /** The exact text to render, one line per quoted string. */
  target: string;
  /** Seeds to try and rank by OCR; 1 only scores the image; 0 = auto (4 on a GPU, 1 on the CPU). */
  candidates: number;
  /** Draw the exact text over the best candidate when none spells it. */
  exactFallback: boolean;
  /** Where the drawn text goes when OCR found no text region; default: the region's own place or the centre. */
  position?: TextPosition;
  /** Write the losing candidates too (`GenerateImageResult.candidates`). */
  keepCandidates: boolean;
  /**
   * Layout-first text (issue 12): `auto` adds layout-first and then repair candidates when no
   * text-to-image one reads exactly; `always` makes only those; `off` (the default) neither.
   */
  layout?: TextLayoutMode;
  /** Image-to-image strength of layout-first candidates (defaultLayoutStrength when absent). */
  layoutStrength?: number;
}

/** What OCR made of an image, as stored in its `letterpress` chunk, flattened for the UI. */
export interface ImageLegibility {
  target: string;
  ocrText: string;
  /** Character error rate of the best-matching words, 0 = exact. */
  cer: number;
  exactMatch: boolean;
  /** Tesseract's confidence, 0–100. */
  ocrConfidence: number;
  /** The text was drawn over the image because no candidate spelled it. */
  exactTextFallback: boolean;
  /** How many candidates were generated for this image (1 when only scored). */
  candidateCount: number;
  /** How the image was made when not plain text-to-image: from a drawn layout, or its text region repaired. */
  mode?: CandidateMode;
}

export interface GenerateImageParams extends JobParams {
  options: GenerateOptions;
  /** An empty folder the host created; the runtime writes one PNG per image into it. */
  outputDir: string;
  /** Check (and with candidates/fallback, enforce) the text in the image. Needs `options.numImages` 1 for best of N. */
  legibility?: LegibilityOptions;
}

/** A drawn mask rectangle lies inside the image, repaints something, and stands alone (no mask file with it). */
function maskBoxProblem(options: GenerateOptions): ParamsProblem | undefined {
  const box = options.maskBox;
  if (!box) return undefined;
  const path = ['maskBox'];
  if (options.initImage === undefined && options.initImageData === undefined) return { path, problem: 'needs a start image to repaint' };
  if (options.mask !== undefined || options.maskData !== undefined) return { path, problem: 'cannot go with a mask file: give one or the other' };
  if (box.width <= 0 || box.height <= 0) return { path, problem: 'is empty: draw the region to repaint' };
  if (box.left + box.width > options.width || box.top + box.height > options.height) {
    return { path, problem: `reaches outside the ${options.width}×${options.height} image` };
  }
  return undefined;
}

/** Every field of a generation within the limits table; also what the pipeline and the CLI check. */
export const generateOptionsValidator = record<GenerateOptions>({
  modelDir: text({ nonBlank: true, limit: pathText }),
  modelName: optional(text({ limit: pathText })),
  prompt: text({ limit: limits.prompt }),
  negativePrompt: optional(text({ limit: limits.prompt })),
  steps: numberIn(limits.steps),
  guidanceScale: numberIn(limits.guidanceScale),
  scheduler: optional(oneOf(schedulerNames)),
  width: numberIn(limits.side),
  height: numberIn(limits.side),
  seed: numberIn(limits.seed),
  numImages: optional(numberIn(limits.numImages)),
  batchSize: optional(numberIn(limits.batchSize)),
  device: optional(oneOf(deviceSettings)),
  fp16: optional(boolean),
  // Paths as the caller gave them (the pipeline resolves them; the CLI passes what the user typed).
  initImage: optional(text({ nonBlank: true, limit: pathText })),
  strength: optional(numberIn(limits.strength)),
  mask: optional(text({ nonBlank: true, limit: pathText })),
  maskBox: optional(pixelBox),
  initImageData: optional(bytes(limits.startImageBytes)),
  maskData: optional(bytes(limits.startImageBytes)),
  initImageKind: optional(oneOf(['image', 'layout'])),
  // Only what start images' recorded paths are relative to; the host passes its workspace folder.
  workspaceDir: optional(absolutePath),
}, maskBoxProblem);

export const legibilityOptionsValidator = record<LegibilityOptions>({
  target: targetTextValidator,
  candidates: numberIn(limits.candidates),
  exactFallback: boolean,
  position: optional(oneOf(textPositions)),
  keepCandidates: boolean,
  layout: optional(oneOf(textLayoutModes)),
  layoutStrength: optional(numberIn(limits.layoutStrength)),
});

/** Best of N, layout-first candidates and the drawn text keep one image per job. */
export function bestOfNProblem(numImages: number | undefined, legibility: LegibilityOptions | undefined): ParamsProblem | undefined {
  if ((numImages ?? 1) <= 1 || !legibility) return undefined;
  if ((legibility.layout ?? 'off') !== 'off') {
    return { path: ['legibility', 'layout'], problem: `must be off when several images are asked for (${numImages}): layout-first text keeps 1 image per job` };
  }
  if (legibility.candidates === 1 && !legibility.exactFallback) return undefined;
  return {
    path: ['legibility', 'candidates'],
    problem: `must be 1 with the exact-text fallback off when several images are asked for (${numImages}): best of N keeps 1 image per job`,
  };
}

export const generateImageParamsValidator = record<GenerateImageParams>(
  { jobId, options: generateOptionsValidator, outputDir: absolutePath, legibility: optional(legibilityOptionsValidator) },
  (params) => bestOfNProblem(params.options.numImages, params.legibility) ?? layoutStartProblem(params.options, params.legibility),
);

/** Layout-first text starts from its own drawing of the text, so it cannot also start from the user's image. */
function layoutStartProblem(options: GenerateOptions, legibility: LegibilityOptions | undefined): ParamsProblem | undefined {
  if ((legibility?.layout ?? 'off') === 'off' || (options.initImage === undefined && options.initImageData === undefined)) return undefined;
  return { path: ['legibility', 'layout'], problem: 'must be off when generating from a start image: layout-first text starts from its own drawing of the text' };
}

export interface GeneratedImageFile {
  /** Absolute path of the PNG (with its `parameters` tEXt chunk) inside `outputDir`. */
  file: string;
  width: number;
  height: number;
  seed: number;
  parameters: string;
  legibility?: ImageLegibility;
}
export interface GenerateImageResult {
  images: GeneratedImageFile[];
  /** The candidates that lost, best first, when `legibility.keepCandidates` asked for them. */
  candidates?: GeneratedImageFile[];
  /** Execution provider that ran, e.g. "cuda" or "cpu". */
  provider: string;
  providerNote: string;
  timingsMs: Record<string, number>;
}
// Long: a first run on CPU converts the model and may take many minutes per image.
export const generateImageRequest = request<GenerateImageParams, GenerateImageResult>(
  'runtime/image/generate',
  2 * hour,
  generateImageParamsValidator,
);

export interface DrawTextParams extends JobParams {
  /** Absolute path of the PNG to draw on; it is only read. */
  input: string;
  /** The exact text to draw; line breaks make lines. */
  target: string;
  /** Where the text goes when the image's OCR found no text like it; default: the centre. */
  position?: TextPosition;
  /** An existing folder the host created; the runtime writes the one new PNG into it. */
  outputDir: string;
}
export interface DrawTextResult {
  /** Absolute path of the new PNG inside `outputDir`: the input's `parameters` kept, a `letterpress` record added. */
  file: string;
  width: number;
  height: number;
  /** The read-back of the drawn image; `exactTextFallback` is always true. */
  legibility: ImageLegibility;
}
/**
 * "Draw exact text" on an image that already exists: the exact-text fallback without generating.
 * Minutes at most even on a slow machine (two OCR passes per drawing style).
 */
export const drawTextRequest = request<DrawTextParams, DrawTextResult>(
  'runtime/image/drawText',
  10 * minute,
  record<DrawTextParams>({
    jobId,
    input: absolutePath,
    target: targetTextValidator,
    position: optional(oneOf(textPositions)),
    outputDir: absolutePath,
  }),
);

/** The model a text repair runs: the host's or the CLI's model setting, resolved to a folder on disk. */
export interface RepairModelParams {
  modelDir: string;
  /** How the model is named in the image's parameters (a repo id). */
  modelName?: string;
  device?: DeviceSetting;
  fp16?: boolean;
  /** Inpainting candidates, each read by OCR; 0 = auto (4 on a GPU, 1 on the CPU). */
  candidates: number;
  /** How much of the text region is repainted (default: the repair's own, 0.6). */
  strength?: number;
}

export interface FixTextParams extends DrawTextParams {
  /**
   * Repair the text with the model first: the target drawn over the image's text region (OCR's
   * box, or its layout's box), only that region — dilated — inpainted with the image's own prompt
   * and settings, candidates ranked by OCR. Absent (no model on disk): the plate alone.
   */
  model?: RepairModelParams;
}
export interface FixTextResult extends DrawTextResult {
  /** How the text was fixed: repainted by the model, or drawn on a plate because no repair read exactly. */
  mode: 'repair' | 'plate';
  /** Repair candidates made (0 when the model could not repair this image at all). */
  repairCandidates: number;
  /** Why the model did not repair it, when it did not try (no generation parameters, no model). */
  plateReason?: string;
}
export const fixTextParamsValidator = record<FixTextParams>({
  jobId,
  input: absolutePath,
  target: targetTextValidator,
  position: optional(oneOf(textPositions)),
  outputDir: absolutePath,
  model: optional(
    record<RepairModelParams>({
      modelDir: absolutePath,
      modelName: optional(text({ limit: pathText })),
      device: optional(oneOf(deviceSettings)),
      fp16: optional(boolean),
      candidates: numberIn(limits.candidates),
      strength: optional(numberIn(limits.layoutStrength)),
    }),
  ),
});
/**
 * "Fix text" on an image that already exists, with the model (issue 12): inpainting candidates over
 * the drawn glyphs, the plate only as the fallback. Long: each candidate is a generation.
 */
export const fixTextRequest = request<FixTextParams, FixTextResult>('runtime/image/fixText', 2 * hour, fixTextParamsValidator);

export interface ExportImageParams extends JobParams {
  preset: ExportPresetName;
  /** Absolute path of the image to export from (PNG, JPEG, WebP…); it is only read. */
  input: string;
  /**
   * The folder the files go into (made when missing): an absolute path with no symbolic link on the
   * way, as the caller resolved it (the host: inside the workspace). The runtime writes only when
   * the folder it finds there is this very one; it never replaces a file.
   */
  outputDir: string;
  /**
   * Put the files in a new folder inside `outputDir` instead: the first of `<newFolder>`,
   * `<newFolder>-2`, … (up to limits.exportFolders) that is a plain folder or free and has none of
   * the files' names taken. Without it, a taken name stops the export before anything is written.
   */
  newFolder?: string;
  /** How shapes unlike the image's are cut (icons: centre, banners: attention, by default). */
  crop?: CropStrategy;
  /** Remove a flat background first (presets with `takesTransparent`; kept, with a note, when there is none). */
  transparent?: boolean;
  /** Colour distance still taken for the background (default 40). */
  tolerance?: number;
  /** Presets with `takesColours` (svg): the most colours the tracing may use (limits.exportColours). */
  colours?: number;
}
export interface ExportImageResult {
  /** The folder the files went into (`outputDir`, or the new folder inside it). */
  folder: string;
  files: Array<{ path: string; width: number; height: number }>;
  /** Things the user should know, e.g. that the background was left in place. */
  notes: string[];
}
/**
 * An export preset (icon set, banners, transparent PNG, …) of an image on disk, in the runtime: the
 * host loads no image library. Seconds; minutes at most for the largest images on a slow machine.
 */
export const exportImageRequest = request<ExportImageParams, ExportImageResult>(
  'runtime/image/export',
  10 * minute,
  record<ExportImageParams>(
    {
      jobId,
      preset: oneOf(exportPresetNames),
      input: absolutePath,
      outputDir: absolutePath,
      newFolder: optional(fileName),
      crop: optional(oneOf(cropStrategies)),
      transparent: optional(boolean),
      tolerance: optional(numberIn(limits.exportTolerance)),
      colours: optional(numberIn(limits.exportColours)),
    },
    (params) => {
      const preset = exportPresets[params.preset] as { takesTransparent?: boolean; takesColours?: boolean };
      if (params.transparent && !preset.takesTransparent) return { path: ['transparent'], problem: `does not go with the ${params.preset} preset` };
      if (params.colours !== undefined && !preset.takesColours) return { path: ['colours'], problem: `does not go with the ${params.preset} preset` };
      return undefined;
    },
  ),
);

export interface InspectImageParams {
  /** Absolute path of a PNG, JPEG or WebP file; it is only read (bounded: file size and pixels). */
  path: string;
}
export interface InspectImageResult {
  /** Upright size (EXIF orientation applied). */
  width: number;
  height: number;
}
/**
 * The size of an image the host is about to start a generation from (it loads no image decoder of
 * its own): an unreadable, damaged or oversized file is a `userError` naming it, before any job.
 */
export const inspectImageRequest = request<InspectImageParams, InspectImageResult>(
  'runtime/image/inspect',
  minute,
  record<InspectImageParams>({ path: absolutePath }),
);

// ---- model --------------------------------------------------------------------------------------

export interface ResolveModelParams extends JobParams {
  /** Local folder or hub repo id; the default model when absent. */
  model?: string;
  revision?: string;
  token?: string;
  /** Only look on disk: fails with `modelMissing` instead of downloading. */
  offline?: boolean;
  cacheDir?: string;
}
export interface ResolveModelResult {
  modelDir: string;
  source: 'local' | 'cache' | 'download';
  revision?: string;
}
export const resolveModelRequest = request<ResolveModelParams, ResolveModelResult>(
  'runtime/model/resolve',
  12 * hour,
  record<ResolveModelParams>({
    jobId,
    model: optional(text({ limit: pathText })),
    revision: optional(text({ limit: pathText })),
    token: optional(text({ limit: pathText })),
    offline: optional(boolean),
    cacheDir: optional(absolutePath),
  }),
);

export interface PlanModelParams {
  /** Local folder or hub repo id; the default model when absent. */
  model?: string;
  revision?: string;
  token?: string;
  cacheDir?: string;
}
/** What resolving the model would download (the model store's dry run: nothing fetched or written). */
export interface ModelDownloadPlan {
  source: 'local' | 'cache' | 'download';
  /** The commit the revision points to (hub models). */
  revision?: string;
  /** Bytes of the files the pipeline needs. */
  totalBytes: number;
  /** Of those, bytes already on disk: files in the snapshot, verified blobs, partial downloads that resume. */
  cachedBytes: number;
  /** What the download still has to transfer. */
  bytesToFetch: number;
}
/**
 * Sizes for the download offer: the hub's file list and a HEAD per missing file, read against the
 * cache. Asked of the runtime so that the host makes no hub calls of its own.
 */
export const planModelRequest = request<PlanModelParams, ModelDownloadPlan>(
  'runtime/model/plan',
  minute,
  record<PlanModelParams>({
    model: optional(text({ limit: pathText })),
    revision: optional(text({ limit: pathText })),
    token: optional(text({ limit: pathText })),
    cacheDir: optional(absolutePath),
  }),
);

export const unloadModelRequest = request<Record<string, never>, { unloaded: boolean }>('runtime/model/unload', minute, record({}));

// ---- prompt -------------------------------------------------------------------------------------

export interface CountTokensParams {
  modelDir: string;
  text: string;
}
export interface CountTokensResult {
  /** Tokens of the text without the start and end tokens. */
  count: number;
  /** How many fit (75 for CLIP's 77 with start and end). */
  limit: number;
}
export const countTokensRequest = request<CountTokensParams, CountTokensResult>(
  'runtime/tokens/count',
  30 * second,
  record<CountTokensParams>({ modelDir: absolutePath, text: text({ limit: limits.prompt }) }),
);


// ---- cache --------------------------------------------------------------------------------------

/** One entry of Letterpress's cache of converted graphs (runtime/graphCache/). */
export interface CachedGraphInfo {
  /** `<model folder>/<graph folder>`: what removal takes; not a path. */
  id: string;
  /** Hub repo id, or the local folder's path. */
  model: string;
  /** The hub commit. */
  revision?: string;
  component?: string;
  precision?: string;
  /** The execution provider it was converted for. */
  provider?: string;
  attentionMode?: string;
  /** Bytes this entry alone holds on disk. */
  bytes: number;
  /** Bytes shared with the model's own files through hard links (freed only with the model). */
  linkedBytes: number;
  /** False for what the cache did not make or cannot vouch for (set aside: a link, no valid record). */
  trusted: boolean;
  createdAt?: string;
}
export interface ListCacheResult {
  cacheDir: string;
  graphs: CachedGraphInfo[];
}
export const listCacheRequest = request<Record<string, never>, ListCacheResult>('runtime/cache/list', minute, record({}));

export interface RemoveCacheParams {
  /** Ids from `listCacheRequest`; others are reported in `unknown`, never treated as paths. */
  ids: string[];
}
export interface RemoveCacheResult {
  removed: string[];
  unknown: string[];
  freedBytes: number;
}
/** A list of cache entry ids within the limits table (each checked as text; unknown ones are the handler's to report). */
const cacheEntryIds = validator<string[]>((v, path) => {
  const { maxChars } = limits.cacheEntryId;
  const most = limits.cacheEntriesPerRemoval;
  if (!Array.isArray(v) || v.length > most) return { path, problem: `must be a list of at most ${most} cache entry ids` };
  const bad = v.findIndex((id) => typeof id !== 'string' || id.length === 0 || id.length > maxChars);
  return bad === -1 ? undefined : { path: [...path, bad], problem: `must be a cache entry id from the list (1 to ${maxChars} characters)` };
});
/** Waits for a running generation (its graphs may be the ones removed) and unloads the model first. */
export const removeCacheRequest = request<RemoveCacheParams, RemoveCacheResult>(
  'runtime/cache/remove',
  2 * hour,
  record<RemoveCacheParams>({ ids: cacheEntryIds }),
);
