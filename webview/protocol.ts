// The one protocol between the gallery webview and the extension host; both sides import it.
// Every message is `{ method, params }` with a method named `scope/noun/verb`. Both ends validate
// what they receive against the descriptor before acting on it and drop anything else: the webview
// runs page script, so the host treats its messages as untrusted input, and the webview treats
// the host's the same way so a version skew after an update cannot corrupt its state.
import { candidateModes, schedulerNames } from '../runtime/protocol/generationTypes.ts';
import type { StartImageMode } from '../runtime/protocol/generationTypes.ts';
import { isPixelBox, type PixelBox } from '../runtime/protocol/paramsValidation.ts';
import type { SchedulerName } from '../runtime/protocol/generationTypes.ts';
import type { ImageLegibility } from '../runtime/protocol/runtimeProtocol.ts';
import { limits, withinLimit, type NumberLimit } from '../runtime/protocol/limits.ts';

export interface IpcMessage<Method extends string = string, Params = unknown> {
  method: Method;
  params: Params;
}

export interface IpcDescriptor<Method extends string, Params> {
  readonly method: Method;
  readonly validate: (params: unknown) => params is Params;
  /** Builds a message; typed so a sender cannot pass the wrong params. */
  readonly create: (params: Params) => IpcMessage<Method, Params>;
}

type Check<T> = (value: unknown) => value is T;

function descriptor<Method extends string, Params>(method: Method, validate: Check<Params>): IpcDescriptor<Method, Params> {
  return { method, validate, create: (params) => ({ method, params }) };
}

// Small structural checks, enough to reject malformed or hostile messages.
const isString: Check<string> = (v): v is string => typeof v === 'string';
const isBoolean: Check<boolean> = (v): v is boolean => typeof v === 'boolean';
const isFiniteNumber: Check<number> = (v): v is number => typeof v === 'number' && Number.isFinite(v);
const isInteger: Check<number> = (v): v is number => Number.isSafeInteger(v);
function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function optional<T>(check: Check<T>): Check<T | undefined> {
  return (v): v is T | undefined => v === undefined || check(v);
}
function oneOf<T extends string>(values: readonly T[]): Check<T> {
  return (v): v is T => typeof v === 'string' && (values as readonly string[]).includes(v);
}
function arrayOf<T>(check: Check<T>): Check<T[]> {
  return (v): v is T[] => Array.isArray(v) && v.every(check);
}
function shape<T>(fields: { [K in keyof T]-?: Check<T[K]> }): Check<T> {
  return (v): v is T => {
    if (!isRecord(v)) return false;
    for (const key of Object.keys(fields) as (keyof T)[]) {
      if (!fields[key](v[key as string])) return false;
    }
    return true;
  };
}

/**
 * Limits the form enforces and the host re-checks (a job far outside them is a bug or an attack),
 * named for the form; the numbers are the runtime's, from runtime/protocol/limits.ts.
 */
export const generationLimits = {
  promptChars: limits.prompt.maxChars,
  minSide: limits.side.min,
  maxSide: limits.side.max,
  maxSteps: limits.steps.max,
  maxGuidance: limits.guidanceScale.max,
  maxImages: limits.numImages.max,
  maxSeed: limits.seed.max,
  maxCandidates: limits.candidates.max,
  textChars: limits.targetText.maxChars,
} as const;

/** The candidate counts the form offers; 0 is "Auto" (4 on a GPU, 1 on the CPU). */
export const candidateChoices = [0, 1, 2, 4, 8] as const;

/** CLIP reads 77 tokens, two of which are the start and end markers. */
export const promptTokenLimit = limits.promptTokens;

/** A size the form offers by name; the host sends its list (the palette command's presets). */
export interface SizePreset {
  /** `${width}x${height}`: sizes are unique, names are not ("Banner" comes in two). */
  id: string;
  label: string;
  width: number;
  height: number;
}

/** What the form submits: a complete job, seed already chosen so it is shown and reproducible. */
export interface GenerationRequest {
  prompt: string;
  negativePrompt: string;
  width: number;
  height: number;
  steps: number;
  guidanceScale: number;
  /** Absent: the model's own default scheduler. */
  scheduler?: SchedulerName;
  seed: number;
  numImages: number;
  /** The text the image must show; absent or blank: what the prompt quotes. */
  text?: string;
  /** Seeds to try and rank by OCR; 0 = auto. More than 1 keeps one image, so numImages must be 1. */
  candidates?: number;
  /** Draw the exact text over the best candidate when none spells it. */
  exactFallback?: boolean;
  /** Image-to-image from a workspace image (with a rectangle: inpainting only that region). */
  startImage?: FormStartImage;
}

/** The form's start image: which file, how much of it is repainted, and the region drawn on it. */
export interface FormStartImage {
  /** Workspace-relative path, forward slashes (a gallery id, or a file picked or dropped); the host checks it. */
  id: string;
  strength: number;
  /** The region to repaint, in pixels of the request's width × height. */
  maskBox?: PixelBox;
}

/** Paths the page names: bounded, and never absolute or climbing out (the host checks them again). */
const isWorkspaceId: Check<string> = (v): v is string =>
  isString(v) && v.length > 0 && v.length <= 4096 && !v.includes('\0') && !/^(?:\/|[A-Za-z]:|\\)/.test(v) && !v.split(/[\\/]/).includes('..');

function within(limit: NumberLimit): Check<number> {
  return (v): v is number => withinLimit(limit, v);
}
const isSide = within(limits.side);

const isRequestFields: Check<GenerationRequest> = shape<GenerationRequest>({
  prompt: (v): v is string => isString(v) && v.trim() !== '' && v.length <= limits.prompt.maxChars,
  negativePrompt: (v): v is string => isString(v) && v.length <= limits.prompt.maxChars,
  width: isSide,
  height: isSide,
  steps: within(limits.steps),
  guidanceScale: within(limits.guidanceScale),
  scheduler: optional(oneOf(schedulerNames)),
  seed: within(limits.seed),
  numImages: within(limits.numImages),
  text: optional((v): v is string => isString(v) && v.length <= limits.targetText.maxChars),
  candidates: optional(within(limits.candidates)),
  exactFallback: optional(isBoolean),
  startImage: optional(shape<FormStartImage>({ id: isWorkspaceId, strength: within(limits.strength), maskBox: optional(isPixelBox) })),
});

/** A drawn region inside the image that repaints something. */
function maskBoxFits(request: GenerationRequest): boolean {
  const box = request.startImage?.maskBox;
  return !box || (box.width > 0 && box.height > 0 && box.left + box.width <= request.width && box.top + box.height <= request.height);
}

/** Best of N and the drawn text keep one image: the runtime refuses them with several images. */
export const isGenerationRequest: Check<GenerationRequest> = (v): v is GenerationRequest =>
  isRequestFields(v) && !(v.numImages > 1 && ((v.candidates ?? 1) > 1 || v.exactFallback === true)) && maskBoxFits(v);

/** Settings read back from an image's `parameters` chunk; any of them may be missing. */
export interface ImageSettings {
  prompt: string;
  negativePrompt: string;
  steps?: number;
  /** Display name as written in the file ("DDIM", "Euler a"). */
  sampler?: string;
  /** The sampler mapped back to our name, when it is one we run. */
  scheduler?: SchedulerName;
  guidanceScale?: number;
  seed?: number;
  width?: number;
  height?: number;
  model?: string;
}

const isImageSettings: Check<ImageSettings> = shape<ImageSettings>({
  prompt: isString,
  negativePrompt: isString,
  steps: optional(isInteger),
  sampler: optional(isString),
  scheduler: optional(oneOf(schedulerNames)),
  guidanceScale: optional(isFiniteNumber),
  seed: optional(isInteger),
  width: optional(isInteger),
  height: optional(isInteger),
  model: optional(isString),
});

/** Bounds the host keeps legibility records within (OCR of texture can read long runs of junk). */
export const legibilityLimits = {
  /** What OCR read: longer than the target when it picks up texture as letters; the host shortens it to this. */
  textChars: 500,
  /** A CER counts insertions too, so it can pass 1; far above is a broken record. */
  maxCer: 100,
  maxConfidence: 100,
  /** Best of N in each phase: text-to-image, layout-first, repair. */
  maxCandidates: limits.candidates.max * candidateModes.length,
} as const;

/** What OCR made of an image, from its `letterpress` chunk (the runtime's record plus its place among the candidates). */
export interface GalleryLegibility extends ImageLegibility {
  /** False for a losing candidate kept next to the chosen image. */
  chosen: boolean;
}

function boundedString(max: number): Check<string> {
  return (v): v is string => isString(v) && v.length <= max;
}
function numberIn(min: number, max: number): Check<number> {
  return (v): v is number => isFiniteNumber(v) && v >= min && v <= max;
}

export const isGalleryLegibility: Check<GalleryLegibility> = shape<GalleryLegibility>({
  target: (v): v is string => boundedString(limits.targetText.maxChars)(v) && v.trim() !== '',
  ocrText: boundedString(legibilityLimits.textChars),
  cer: numberIn(0, legibilityLimits.maxCer),
  exactMatch: isBoolean,
  ocrConfidence: numberIn(0, legibilityLimits.maxConfidence),
  exactTextFallback: isBoolean,
  candidateCount: (v): v is number => isInteger(v) && v >= 1 && v <= legibilityLimits.maxCandidates,
  mode: optional(oneOf(candidateModes)),
  chosen: isBoolean,
});

export interface GalleryImage {
  /** Workspace-relative path with forward slashes; the key every image action uses. */
  id: string;
  name: string;
  /** Webview URI of the full image. */
  uri: string;
  /** Webview URI of the cached thumbnail (falls back to the full image when none could be made). */
  thumbnailUri: string;
  mtimeMs: number;
  size: number;
  /** Absent when the PNG has no readable `parameters` chunk (made by another tool). */
  settings?: ImageSettings;
  /** Absent when the PNG has no valid `letterpress` chunk (the text was not checked). */
  legibility?: GalleryLegibility;
  /** Where it came from when made from a start image (its PNG's start image record). */
  source?: GallerySource;
}

/** An image's provenance, for "from sign.png, strength 0.6". */
export interface GallerySource {
  mode: StartImageMode;
  strength: number;
  /** The start image's path as recorded (relative to the workspace); absent for one made in memory (a layout, drawn glyphs). */
  image?: string;
  /** How the repainted region was given: a mask file or a drawn rectangle. */
  mask?: 'file' | 'box';
}

export const isGallerySource: Check<GallerySource> = shape<GallerySource>({
  mode: oneOf<StartImageMode>(['img2img', 'inpaint', 'layout']),
  strength: within(limits.strength),
  image: optional(boundedString(4096)),
  mask: optional(oneOf(['file', 'box'] as const)),
});

export const isGalleryImage: Check<GalleryImage> = shape<GalleryImage>({
  id: isString,
  name: isString,
  uri: isString,
  thumbnailUri: isString,
  mtimeMs: isFiniteNumber,
  size: isFiniteNumber,
  settings: optional(isImageSettings),
  legibility: optional(isGalleryLegibility),
  source: optional(isGallerySource),
});

export const jobStates = ['queued', 'loading', 'running', 'done', 'failed', 'cancelled'] as const;
export type JobState = (typeof jobStates)[number];

/** A "Fix text" job: the exact text drawn over an image the gallery shows, as a new file beside it. */
export interface DrawTextJobInfo {
  /** Gallery id of the image drawn on. */
  source: string;
  /** The text drawn; line breaks make lines. */
  target: string;
}

interface JobViewFields {
  jobId: string;
  state: JobState;
  /** Human-readable status of the loading phase ("Converting unet 3/10") or between steps. */
  detail?: string;
  step: number;
  totalSteps: number;
  /** 0-based index of the image being sampled within the job (the first of a batch). */
  image: number;
  /** How many images, from `image` on, are sampled together; absent when one. */
  images?: number;
  elapsedMs: number;
  /** data: URI of a small PNG made from the latents, replaced by the final image when done. */
  previewUri?: string;
  /** Gallery ids of the images the job wrote. */
  outputs: string[];
  /** Gallery ids of the candidates that lost (best of N), best first. */
  candidates?: string[];
  error?: string;
}

/** A generation job from the form, Regenerate or Vary. */
export interface GenerateJobView extends JobViewFields {
  kind?: 'generate';
  request: GenerationRequest;
}

/** Drawing the exact text on an image ("Fix text"): no steps, one output. */
export interface DrawTextJobView extends JobViewFields {
  kind: 'drawText';
  drawText: DrawTextJobInfo;
}

export type JobView = GenerateJobView | DrawTextJobView;

const isDataPngUri: Check<string> = (v): v is string =>
  isString(v) && v.startsWith('data:image/png;base64,') && /^[A-Za-z0-9+/=]*$/.test(v.slice(22));

const isJobViewFields: Check<JobViewFields> = shape<JobViewFields>({
  jobId: isString,
  state: oneOf(jobStates),
  detail: optional(isString),
  step: isInteger,
  totalSteps: isInteger,
  image: isInteger,
  images: optional((v): v is number => isInteger(v) && v >= 1),
  elapsedMs: isFiniteNumber,
  previewUri: optional(isDataPngUri),
  outputs: arrayOf(isString),
  candidates: optional(arrayOf(isString)),
  error: optional(isString),
});

export const isDrawTextJobInfo: Check<DrawTextJobInfo> = shape<DrawTextJobInfo>({
  source: isString,
  target: (v): v is string => isString(v) && v.trim() !== '' && v.length <= limits.targetText.maxChars,
});

/** Exactly one of the two kinds: a generation job carries its request, a drawing job its text and image. */
export const isJobView: Check<JobView> = (v): v is JobView => {
  if (!isJobViewFields(v)) return false;
  const job = v as JobViewFields & { kind?: unknown; request?: unknown; drawText?: unknown };
  if (job.kind === 'drawText') return job.request === undefined && isDrawTextJobInfo(job.drawText);
  return (job.kind === undefined || job.kind === 'generate') && job.drawText === undefined && isGenerationRequest(job.request);
};

export interface SchedulerOption {
  name: SchedulerName;
  label: string;
}

export interface GalleryConfig {
  outputFolder: string;
  presets: SizePreset[];
  defaults: {
    steps: number;
    guidanceScale: number;
    scheduler?: SchedulerName;
    /** From the settings; 0 = auto. */
    candidates?: number;
    exactFallback?: boolean;
    /** False when the OCR check is switched off: the text fields are then disabled. */
    checkText?: boolean;
  };
  schedulers: SchedulerOption[];
  /** False in Restricted Mode or without a workspace folder: the form is shown disabled. */
  canGenerate: boolean;
  reason?: string;
}

const isGalleryConfig: Check<GalleryConfig> = shape<GalleryConfig>({
  outputFolder: isString,
  presets: arrayOf(shape<SizePreset>({ id: isString, label: isString, width: isSide, height: isSide })),
  defaults: shape<GalleryConfig['defaults']>({
    steps: isInteger,
    guidanceScale: isFiniteNumber,
    scheduler: optional(oneOf(schedulerNames)),
    candidates: optional(within(limits.candidates)),
    exactFallback: optional(isBoolean),
    checkText: optional(isBoolean),
  }),
  schedulers: arrayOf(shape<SchedulerOption>({ name: oneOf(schedulerNames), label: isString })),
  canGenerate: isBoolean,
  reason: optional(isString),
});

// ---- webview → host -------------------------------------------------------------------------

export const PanelReady = descriptor('gallery/panel/ready', shape<{}>({}));

export interface TokenCountParams {
  requestId: number;
  text: string;
}
export const CountTokens = descriptor(
  'gallery/tokens/count',
  shape<TokenCountParams>({
    requestId: isInteger,
    text: (v): v is string => isString(v) && v.length <= limits.prompt.maxChars,
  }),
);

export const SubmitJob = descriptor('gallery/job/submit', shape<{ request: GenerationRequest }>({ request: isGenerationRequest }));
export const CancelJob = descriptor('gallery/job/cancel', shape<{ jobId: string }>({ jobId: isString }));

export const imageActions = ['open', 'reveal', 'copyPath', 'insertReference', 'copyPrompt', 'delete', 'export', 'drawText', 'variations'] as const;
export type ImageAction = (typeof imageActions)[number];
export interface ImageActionParams {
  id: string;
  action: ImageAction;
}
export const RunImageAction = descriptor(
  'gallery/image/act',
  shape<ImageActionParams>({ id: isString, action: oneOf(imageActions) }),
);

/**
 * The drag data of a gallery card (its id): the host's drop provider turns it into the reference
 * Insert writes, where the card is dropped in an editor. Lower case: the DOM lowercases types.
 */
export const galleryImageDragMime = 'application/vnd.letterpress.gallery-image';

/**
 * Sets the form's start image: `pick` asks the host for a workspace image (its file picker), `id`
 * takes a gallery image or a workspace-relative path, `uri` a file dropped from the Explorer.
 */
export type ChooseStartImageParams = { pick: true } | { id: string } | { uri: string };
export const ChooseStartImage = descriptor(
  'gallery/startImage/choose',
  (v: unknown): v is ChooseStartImageParams =>
    isRecord(v) &&
    Object.keys(v).length === 1 &&
    (v.pick === true || isWorkspaceId(v.id) || (isString(v.uri) && v.uri.length <= 8192 && /^(?:file|vscode-remote|vscode-file):/.test(v.uri))),
);

export const webviewToHost = [PanelReady, CountTokens, SubmitJob, CancelJob, RunImageAction, ChooseStartImage] as const;
export type WebviewToHostMessage = ReturnType<(typeof webviewToHost)[number]['create']>;

// ---- host → webview -------------------------------------------------------------------------

export interface InitParams {
  config: GalleryConfig;
  images: GalleryImage[];
  jobs: JobView[];
}
export const InitState = descriptor(
  'gallery/state/init',
  shape<InitParams>({ config: isGalleryConfig, images: arrayOf(isGalleryImage), jobs: arrayOf(isJobView) }),
);
export const ImagesChanged = descriptor('gallery/images/update', shape<{ images: GalleryImage[] }>({ images: arrayOf(isGalleryImage) }));
export const JobUpdated = descriptor('gallery/job/update', shape<{ job: JobView }>({ job: isJobView }));

export interface TokenCountResult {
  requestId: number;
  count: number;
  limit: number;
}
export const TokensCounted = descriptor(
  'gallery/tokens/result',
  shape<TokenCountResult>({ requestId: isInteger, count: isInteger, limit: isInteger }),
);

/** Fills the form, e.g. from "Regenerate" in the editor or a restored panel. */
export const FillForm = descriptor('gallery/form/fill', shape<{ request: GenerationRequest }>({ request: isGenerationRequest }));

/**
 * Card commands the webview carries out itself, asked for by the host: the native context menu's
 * Regenerate and Vary (the request is built from the image and the form, in the page) and Select.
 */
export const webviewImageCommands = ['regenerate', 'vary', 'select', 'variations'] as const;
export type WebviewImageCommand = (typeof webviewImageCommands)[number];
export const RunWebviewImageCommand = descriptor(
  'gallery/image/command',
  // Variations carry the strength the host asked for.
  shape<{ id: string; command: WebviewImageCommand; strength?: number }>({ id: isString, command: oneOf(webviewImageCommands), strength: optional(within(limits.strength)) }),
);

/** The form's start image as the host found it: a data: URI of the file to draw the region on, and its size. */
export interface StartImageView {
  id: string;
  name: string;
  /** data: URI (PNG, JPEG or WebP) of the image. */
  uri: string;
  /** Its own size, and the output size it suggests (its own, fitted to the limits). */
  width: number;
  height: number;
  outputWidth: number;
  outputHeight: number;
}
const isImageDataUri: Check<string> = (v): v is string =>
  isString(v) && /^data:image\/(?:png|jpeg|webp);base64,[A-Za-z0-9+/=]*$/.test(v);
export const StartImageChosen = descriptor(
  'gallery/startImage/set',
  shape<StartImageView>({
    id: isWorkspaceId,
    name: boundedString(1024),
    uri: isImageDataUri,
    width: (v): v is number => isInteger(v) && v > 0,
    height: (v): v is number => isInteger(v) && v > 0,
    outputWidth: isSide,
    outputHeight: isSide,
  }),
);

export const hostToWebview = [InitState, ImagesChanged, JobUpdated, TokensCounted, FillForm, RunWebviewImageCommand, StartImageChosen] as const;
export type HostToWebviewMessage = ReturnType<(typeof hostToWebview)[number]['create']>;

/**
 * Returns the message typed when it matches one of the descriptors, or undefined (the caller drops
 * it): unknown methods and malformed params are treated the same way.
 */
export function parseMessage<const D extends readonly IpcDescriptor<string, any>[]>(
  descriptors: D,
  raw: unknown,
): ReturnType<D[number]['create']> | undefined {
  if (!isRecord(raw) || !isString(raw.method)) return undefined;
  const d = descriptors.find((candidate) => candidate.method === raw.method);
  if (!d || !d.validate(raw.params)) return undefined;
  return { method: d.method, params: raw.params } as ReturnType<D[number]['create']>;
}

/** True when `message` is the given kind; narrows its params. */
export function isMessage<M extends string, P>(d: IpcDescriptor<M, P>, message: IpcMessage): message is IpcMessage<M, P> {
  return message.method === d.method;
}
