// The legibility side of a generate job, for the CLI and the runtime: check that the target text is
// asked for sensibly, run best of N (with the fallback) or just score the images, and describe the
// outcome in one line for people.
import { textPositions, type GenerateOptions, type ProgressListener, type TextPosition } from '../protocol/generationTypes.ts';
import { addPngTextChunk, readPngTextChunks } from '../png/pngTextChunks.ts';
import { keptSourceOf } from '../png/startImageRecord.ts';
import type { CandidateGenerator, CandidatePhase, ScoredCandidate } from './bestOfN.ts';
import { generateBestOfN, textToImagePhase } from './bestOfN.ts';
import { layoutPhase, pipelineStartImage, type WithStartImage } from '../layout/layoutPhase.ts';
import { defaultRepairStrength, repairPhase } from '../layout/textRepair.ts';
import {
  defaultLayoutStrength,
  defaultTextLayoutMode,
  isTextLayoutMode,
  textLayoutModes,
  type TextLayoutMode,
} from '../protocol/layoutOptions.ts';
import { legibilityChunkText, letterpressChunkKey, type LegibilityScore } from '../png/letterpressRecord.ts';
import { scoreImage } from './legibilityScore.ts';
import { limits, numberProblem } from '../protocol/limits.ts';
import { OcrReader } from './ocrReader.ts';


export interface LegibleRequest {
  target: string;
  /** 0 = auto: see autoCandidateCount. */
  candidates: number;
  exactFallback: boolean;
  position?: TextPosition;
  batchSize?: number;
  /** Layout-first candidates (default 'off' here; the host and the CLI default to 'auto'). */
  layout?: TextLayoutMode;
  /** Image-to-image strength of layout-first candidates; default defaultLayoutStrength. */
  layoutStrength?: number;
}

/** The layout strength, checked against the limits table; the message names the CLI option. */
export function checkLayoutStrength(strength: number | undefined): string | null {
  if (strength === undefined) return null;
  const problem = numberProblem(limits.layoutStrength, strength);
  return problem ? `--layout-strength ${problem}` : null;
}

/**
 * The phases of a legible job: text-to-image, then layout-first, then a repair of the best one's text
 * region (auto); layout-first and the repair only (always); text-to-image only (off). The plate
 * (exactFallback) comes after all of them. `withStartImage` puts a start image into the generator's
 * options (the pipeline's way unless a test's generator takes it another way).
 */
export function legiblePhases(
  request: Pick<LegibleRequest, 'target' | 'layout' | 'layoutStrength' | 'position'>,
  withStartImage: WithStartImage = pipelineStartImage,
): CandidatePhase[] {
  const mode = request.layout ?? 'off';
  if (mode === 'off') return [textToImagePhase];
  const layout = layoutPhase({ target: request.target, strength: request.layoutStrength ?? defaultLayoutStrength, withStartImage });
  const repair = repairPhase({ target: request.target, strength: defaultRepairStrength, withStartImage, position: request.position });
  return mode === 'always' ? [layout, repair] : [textToImagePhase, layout, repair];
}
/**
 * What the user asked for, checked. Returns an error message for a combination that cannot work,
 * null when there is nothing legibility-related to do beyond scoring, or the request.
 */
export function planLegibleJob(input: {
  target: string | null;
  /** 'auto': see autoCandidateCount. */
  candidates?: number | 'auto';
  exactFallback?: boolean;
  position?: string;
  numImages: number;
  fixedLatents: boolean;
  /** --layout: default auto whenever there are candidates to choose from, off otherwise. */
  layout?: string;
  layoutStrength?: number;
}): { error: string } | { request: LegibleRequest | null } {
  if (input.layout !== undefined && !isTextLayoutMode(input.layout)) {
    return { error: `--layout must be one of ${textLayoutModes.join(', ')}, got "${input.layout}"` };
  }
  const strengthError = checkLayoutStrength(input.layoutStrength);
  if (strengthError) return { error: strengthError };
  if (input.layoutStrength !== undefined && input.layout === 'off') return { error: '--layout-strength needs --layout auto or always' };
  const given = input.candidates;
  if (given !== undefined && given !== 'auto' && (!Number.isInteger(given) || given < 1 || given > limits.candidates.max)) {
    return { error: `--candidates must be auto or a whole number from 1 to ${limits.candidates.max}, got ${given}` };
  }
  const candidates = given === 'auto' ? 0 : given;
  // Auto may come to several candidates (on a GPU), so it needs the text as any best of N does.
  // An explicit --layout auto|always asks for layout-first candidates, which are ranked like any.
  const wantsBest =
    candidates === 0 || (candidates ?? 1) > 1 || input.exactFallback === true || (input.layout !== undefined && input.layout !== 'off');
  if (input.position !== undefined && !(textPositions as readonly string[]).includes(input.position)) {
    return { error: `--text-position must be one of ${textPositions.join(', ')}, got "${input.position}"` };
  }
  if (!wantsBest) return { request: null };
  if (!input.target) {
    return { error: 'no text to check: quote it in the prompt (a sign that says "OPEN 24/7") or pass --text "OPEN 24/7"' };
  }
  if (input.numImages > 1) return { error: '--num-images cannot be combined with --candidates, --exact-fallback or --layout: best of N keeps one image' };
  if (input.fixedLatents) return { error: '--latents fixes the noise, so there are no candidates to choose from; leave out --candidates, --exact-fallback and --layout' };
  return {
    request: {
      target: input.target,
      candidates: candidates ?? 1,
      exactFallback: input.exactFallback === true,
      position: input.position as TextPosition | undefined,
      layout: (input.layout as TextLayoutMode | undefined) ?? defaultTextLayoutMode,
      ...(input.layoutStrength !== undefined ? { layoutStrength: input.layoutStrength } : {}),
    },
  };
}

export function describeScore(score: Pick<LegibilityScore, 'target' | 'ocrText' | 'exactMatch' | 'cer' | 'ocrConfidence'>): string {
  const read = JSON.stringify(score.ocrText.replace(/\s+/g, ' ').slice(0, 80));
  const verdict = score.exactMatch ? 'exact' : `CER ${score.cer.toFixed(2)}`;
  return `OCR: ${JSON.stringify(score.target)} read as ${read} (${verdict}, confidence ${Math.round(score.ocrConfidence)})`;
}

/**
 * "Auto" candidates: several seeds where an image takes seconds (a GPU), one where it takes minutes
 * (the CPU), so the default never multiplies a CPU user's wait.
 */
export function autoCandidateCount(provider: string | undefined): number {
  return provider === undefined || provider === 'cpu' ? 1 : 4;
}

/** Best of N (and the fallback) for one image; `log` gets one line per candidate and the outcome. */
export async function runLegibleJob(
  generator: CandidateGenerator,
  options: GenerateOptions,
  request: LegibleRequest,
  hooks: {
    onProgress?: ProgressListener;
    signal?: AbortSignal;
    log?: (line: string) => void;
    reader?: OcrReader;
    /** How the generator takes a start image (default: the pipeline's GenerateOptions.initImageData). */
    withStartImage?: WithStartImage;
  } = {},
): Promise<{ png: Buffer; seed: number; score: LegibilityScore; fallbackUsed: boolean; ranked: ScoredCandidate[] }> {
  const phases = legiblePhases(request, hooks.withStartImage);
  // A reader passed in belongs to the caller (the runtime keeps one warm between jobs).
  const reader = hooks.reader ?? new OcrReader();
  try {
    const result = await generateBestOfN({
      generator,
      reader,
      options,
      target: request.target,
      candidates:
        request.candidates === 0
          ? (provider) => {
              const count = autoCandidateCount(provider);
              hooks.log?.(`candidates: auto picked ${count} for ${provider ?? 'this provider'}`);
              return count;
            }
          : request.candidates,
      batchSize: request.batchSize,
      phases,
      exactFallback: request.exactFallback,
      fallbackPosition: request.position,
      onProgress: hooks.onProgress,
      signal: hooks.signal,
      onCandidate: (candidate) =>
        hooks.log?.(`candidate seed ${candidate.seed}${candidate.mode === 'txt2img' ? '' : ` (${candidate.mode})`}: ${describeScore(candidate.score)}`),
    });
    if (result.stoppedEarly) hooks.log?.(`stopped early: seed ${result.seed} spells the text exactly`);
    const winner = result.ranked[0];
    if (winner && winner.mode !== 'txt2img' && winner.score.exactMatch) hooks.log?.(`the ${winner.mode} candidate seed ${winner.seed} spells the text exactly`);
    if (result.fallback) {
      hooks.log?.(`no candidate spelled the text: drew it over seed ${result.seed}; ${describeScore(result.score)}`);
    }
    return { png: result.png, seed: result.seed, score: result.score, fallbackUsed: result.fallback !== null, ranked: result.ranked };
  } finally {
    if (!hooks.reader) await reader.close();
  }
}

/** Scores generated PNGs against the target and stores each score in its `letterpress` chunk. */
export async function scoreGeneratedPngs(
  pngs: readonly Buffer[],
  target: string,
  sharedReader?: OcrReader,
): Promise<Array<{ png: Buffer; score: LegibilityScore }>> {
  const reader = sharedReader ?? new OcrReader();
  try {
    const out = [];
    for (const png of pngs) {
      const score = await scoreImage(reader, png, target);
      // The record joins what the pipeline wrote there (the start image of image-to-image).
      const earlier = readPngTextChunks(png)[letterpressChunkKey];
      out.push({ png: addPngTextChunk(png, letterpressChunkKey, legibilityChunkText({ ...keptSourceOf(earlier), legibility: score })), score });
    }
    return out;
  } finally {
    if (!sharedReader) await reader.close();
  }
}
