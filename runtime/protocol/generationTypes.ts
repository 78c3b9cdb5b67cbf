// Shared vocabulary of the runtime: what a generation job asks for and the progress it reports.
// The CLI, the runtime process and (through runtime/protocol/runtimeProtocol.ts) the extension host all speak it.
import type { PixelBox } from './paramsValidation.ts';

export const schedulerNames = [
  'ddim',
  'pndm',
  'euler',
  'euler_a',
  'lms',
  'dpmpp_2m',
  'dpmpp_2m_karras',
  'unipc',
] as const;
export type SchedulerName = (typeof schedulerNames)[number];

/** The samplers' names as the gallery form shows them (a PNG's `Sampler:` uses A1111's: runtime/png/a1111Samplers.ts). */
const samplerDisplayNames: Record<SchedulerName, string> = {
  ddim: 'DDIM',
  pndm: 'PNDM',
  euler: 'Euler',
  euler_a: 'Euler a',
  lms: 'LMS',
  dpmpp_2m: 'DPM++ 2M',
  dpmpp_2m_karras: 'DPM++ 2M Karras',
  unipc: 'UniPC',
};

export function samplerDisplayName(name: SchedulerName): string {
  return samplerDisplayNames[name];
}

/** Where the exact text is drawn when OCR found no text region to draw over. */
export const textPositions = ['top', 'centre', 'bottom'] as const;
export type TextPosition = (typeof textPositions)[number];

export const deviceSettings = ['auto', 'cpu', 'cuda', 'webgpu', 'dml', 'coreml'] as const;
export type DeviceSetting = (typeof deviceSettings)[number];

export interface GenerateOptions {
  /** Local model folder in the diffusers layout (a snapshot folder of the hub cache works). */
  modelDir: string;
  /** How the model is named in the image's parameters text (a repo id); defaults to modelDir. */
  modelName?: string;
  prompt: string;
  /** Empty string when none, as diffusers does for classifier-free guidance. */
  negativePrompt?: string;
  steps: number;
  guidanceScale: number;
  /** Defaults to the scheduler named in the model's scheduler_config.json. */
  scheduler?: SchedulerName;
  width: number;
  height: number;
  /** Letterpress's own noise (not PyTorch's): image i of the job uses seed + i. */
  seed: number;
  numImages?: number;
  /**
   * Most images denoised together in one UNet call (each keeps its own seed and sampler state, so
   * the images do not depend on it). Default: preferredBatchSize(provider) from
   * runtime/pipeline/providerTuning.ts — 1 on the CPU, up to 4 on GPU providers.
   */
  batchSize?: number;
  device?: DeviceSetting;
  /** Use float16 graphs where the execution provider benefits from them. */
  fp16?: boolean;
  /**
   * Image-to-image: the start image file (PNG, JPEG, WebP), stretched to width x height when its
   * size differs (callers usually default the size to the image's own, rounded down to multiples of 8).
   */
  initImage?: string;
  /**
   * How far the start image is repainted, 0 to 1 (default 0.75): the run skips the first
   * steps x (1 - strength) steps of the schedule, as diffusers' get_timesteps does.
   */
  strength?: number;
  /** Inpainting (needs initImage): white = repaint, black = keep; stretched to width x height when its size differs. */
  mask?: string;
  /** Inpainting of a rectangle instead of a mask file: the region to repaint, in pixels of width x height. */
  maskBox?: PixelBox;
  /**
   * Encoded start image / mask made in memory (a layout picture, drawn glyphs), used instead of
   * initImage / mask. In-process callers only: the runtime protocol carries file paths.
   */
  initImageData?: Uint8Array;
  maskData?: Uint8Array;
  /** What the start image is, for the image's record: the user's own picture (default) or a layout Letterpress drew. */
  initImageKind?: 'image' | 'layout';
  /** Folder the start image's recorded path is relative to (the workspace folder); default: the current directory. */
  workspaceDir?: string;
}

export const defaultStrength = 0.75;
/** A gallery card's Variations… stay closer to the image they vary. */
export const defaultVariationStrength = 0.6;

/** How an image was made from a start image, as recorded in its PNG's `letterpress` chunk. */
export type StartImageMode = 'img2img' | 'inpaint' | 'layout';

export interface StartImageRecord {
  mode: StartImageMode;
  strength: number;
  /** Path relative to the workspace (forward slashes), absent for an image made in memory; SHA-256 of its file. */
  image: { path?: string; sha256: string };
  /** A mask file's path and hash; a rectangle drawn in the editor has `box` (its mask made in memory). */
  mask?: { path?: string; sha256: string; box?: PixelBox };
}

/**
 * How a candidate image was made, for the text's sake: text-to-image, image-to-image from a drawn
 * layout of the text, or its text region inpainted over drawn glyphs (a repair).
 */
export const candidateModes = ['txt2img', 'layout', 'repair'] as const;
export type CandidateMode = (typeof candidateModes)[number];

/** Progress of any long runtime job, as one tagged union for the progress bar and the webview. */
export type ProgressEvent =
  | {
      status: 'download';
      file: string;
      fileBytes: number;
      fileTotal: number;
      bytes: number;
      total: number;
      bytesPerSecond: number;
      etaSeconds: number | null;
      /** Files being fetched at once (the store downloads a few in parallel); `file` names the largest. */
      filesInFlight?: number;
    }
  | { status: 'convert'; component: string; done: number; total: number }
  | { status: 'load'; component: string; provider: string }
  | {
      status: 'step';
      step: number;
      total: number;
      /** Index of the image (the first image of the batch when several are denoised together). */
      image: number;
      /** How many images, from `image` on, this step advanced; absent when one. */
      images?: number;
      elapsedMs: number;
      /** Preview of `image`. */
      preview?: Uint8Array;
    }
  | { status: 'decode'; image: number }
  | { status: 'done' }
  /** Best of N: candidate `candidate` (0-based) of `candidates` is being read, was scored, or gets the exact text drawn. */
  | {
      status: 'legibility';
      phase: 'read' | 'scored' | 'draw';
      candidate: number;
      candidates: number;
      exactMatch?: boolean;
      cer?: number;
      /** How the candidate was made; absent: text-to-image. */
      mode?: CandidateMode;
    }
  | { status: 'message'; level: 'info' | 'warning'; text: string };

export type ProgressListener = (event: ProgressEvent) => void;
