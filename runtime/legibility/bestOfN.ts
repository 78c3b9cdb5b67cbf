// Best of N: generate several seeds in batches, read each image with OCR, keep the one that spells
// the target best (exact match, then character error rate, then OCR confidence) and offer the rest.
// Candidates come in phases — text-to-image first, then (when none spelled the text) layout-first
// image-to-image, then a repair of the best one's text region — and one ranking spans them all.
// Stops as soon as a batch holds an exact match. Optionally draws the exact text over the winner
// when none matched. Written against the pipeline's ImageGenerator contract, structurally, so any
// generator with that generate() shape serves.
import type { CandidateMode, GenerateOptions, ProgressListener } from '../protocol/generationTypes.ts';
import { addPngTextChunk, addPngTextChunks, readPngTextChunks } from '../png/pngTextChunks.ts';
import type { FallbackResult } from './exactTextFallback.ts';
import type { TextPosition } from '../protocol/generationTypes.ts';
import { imageSeed } from '../protocol/limits.ts';
import { applyExactTextFallback } from './exactTextFallback.ts';
import { legibilityChunkText, letterpressChunkKey, parseLegibilityChunk, type LegibilityRecord, type LegibilityScore } from '../png/letterpressRecord.ts';
import { compareScores, scoreImage } from './legibilityScore.ts';
import type { OcrReader } from './ocrReader.ts';

export interface CandidateImage {
  seed: number;
  width: number;
  height: number;
  /** PNG with the generation parameters in a tEXt chunk. */
  png(): Promise<Buffer>;
}

export interface CandidateGenerator {
  generate(
    options: GenerateOptions,
    hooks?: { onProgress?: ProgressListener; signal?: AbortSignal },
  ): Promise<{ images: CandidateImage[]; provider?: string; /** Images per UNet call the generator prefers. */ batchSize?: number }>;
}

export interface ScoredCandidate {
  seed: number;
  /** How the candidate was made: text-to-image, image-to-image from a layout, or a repair. */
  mode: CandidateMode;
  /** What its phase recorded about it (see PreparedPhase.record). */
  record?: Record<string, unknown>;
  /** The PNG as generated, with the `letterpress` legibility chunk added. */
  png: Buffer;
  score: LegibilityScore;
}

export interface PreparedPhase {
  options: GenerateOptions;
  /** Added to the `letterpress` record of this phase's candidates (the layout's strength and box, say). */
  record?: Record<string, unknown>;
}

/**
 * One kind of candidate. `prepare` turns the job's options into this phase's (a start image, a mask,
 * a strength), given the best candidate so far; null skips the phase (nothing to repair, say).
 */
export interface CandidatePhase {
  mode: CandidateMode;
  prepare?(base: GenerateOptions, best: ScoredCandidate | null, signal?: AbortSignal): Promise<PreparedPhase | null>;
  /** Candidates of this phase; default: the request's count. */
  candidates?: number;
}

export const textToImagePhase: CandidatePhase = { mode: 'txt2img' };

export interface BestOfNRequest {
  generator: CandidateGenerator;
  reader: OcrReader;
  /** Generation options; `seed` is the first seed, later candidates take the next ones. */
  options: GenerateOptions;
  target: string;
  /**
   * How many candidates at most (1 = just score the one image). A function decides once the first
   * image shows which execution provider runs (so "auto" can try more seeds on a GPU than on a CPU).
   */
  candidates: number | ((provider: string | undefined) => number);
  /**
   * Images per generate() call; larger batches use a GPU better, smaller ones stop earlier. Default:
   * what the generator says it batches (1 on a CPU, up to 4 on a GPU), else 2.
   */
  batchSize?: number;
  /** The kinds of candidates in order; default: text-to-image only. Later phases run only while none is exact. */
  phases?: readonly CandidatePhase[];
  /** Composite the exact text over the best candidate when none matched. */
  exactFallback?: boolean;
  /** Where the fallback text goes when OCR found no text region. */
  fallbackPosition?: TextPosition;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  /** Called as each candidate is scored, in generation order. */
  onCandidate?: (candidate: ScoredCandidate) => void;
}

export interface BestOfNResult {
  /** The image to keep: the best candidate, or the fallback drawn over it. Carries the `letterpress` chunk. */
  png: Buffer;
  seed: number;
  score: LegibilityScore;
  /** Every candidate generated, best first (the first is the one the result was made from). */
  ranked: ScoredCandidate[];
  stoppedEarly: boolean;
  /** Set when the exact text was composited. */
  fallback: FallbackResult | null;
}

/** Adds the legibility record, keeping what the pipeline already recorded there (mode, start image). */
function withRecord(png: Buffer, record: LegibilityRecord & Record<string, unknown>): Buffer {
  const earlier = readPngTextChunks(png)[letterpressChunkKey];
  const kept = earlier ? (parseRecordObject(earlier) ?? {}) : {};
  return addPngTextChunk(png, letterpressChunkKey, legibilityChunkText({ ...kept, ...record }));
}

function parseRecordObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

interface Scored {
  seed: number;
  mode: CandidateMode;
  png: Buffer;
  score: LegibilityScore;
  record: Record<string, unknown> | undefined;
}

export async function generateBestOfN(request: BestOfNRequest): Promise<BestOfNResult> {
  const decide = typeof request.candidates === 'function' ? request.candidates : undefined;
  let perPhase = decide ? Number.POSITIVE_INFINITY : wholeCount(request.candidates as number);
  let batchSize = Math.max(1, Math.floor(request.batchSize ?? 2));
  const phases = request.phases ?? [textToImagePhase];
  const scored: Scored[] = [];
  const exact = () => scored.some((candidate) => candidate.score.exactMatch);
  const bestSoFar = (): ScoredCandidate | null => {
    const best = [...scored].sort((a, b) => compareScores(a.score, b.score))[0];
    return best ? { seed: best.seed, mode: best.mode, png: best.png, score: best.score, record: best.record } : null;
  };
  let stoppedEarly = false;
  for (const phase of phases) {
    if (exact()) break;
    request.signal?.throwIfAborted();
    const prepared = phase.prepare ? await phase.prepare(request.options, bestSoFar(), request.signal) : { options: request.options };
    if (!prepared) continue;
    const { options, record } = prepared;
    let phaseTotal = phase.candidates !== undefined ? wholeCount(phase.candidates) : perPhase;
    let done = 0;
    while (done < phaseTotal) {
      request.signal?.throwIfAborted();
      // Until the count is decided, one image: it loads the model and tells which provider runs.
      const count = Number.isFinite(phaseTotal) ? Math.min(batchSize, phaseTotal - done) : 1;
      const first = scored.length;
      const { images, provider, batchSize: preferred } = await request.generator.generate(
        // Seeds run on across phases, so every candidate of the job has its own.
        { ...options, seed: imageSeed(request.options.seed, first), numImages: count },
        {
          // Image indices count across batches, so progress reads "image 3 of 4" for the third candidate.
          onProgress: request.onProgress && ((event) => request.onProgress!('image' in event ? { ...event, image: event.image + first } : event)),
          signal: request.signal,
        },
      );
      if (images.length === 0) throw new Error('the generator returned no image');
      if (request.batchSize === undefined && preferred !== undefined) batchSize = Math.max(1, Math.floor(preferred));
      if (decide && !Number.isFinite(perPhase)) {
        perPhase = wholeCount(decide(provider));
        if (phase.candidates === undefined) phaseTotal = perPhase;
      }
      for (const image of images) {
        request.signal?.throwIfAborted();
        const index = scored.length;
        // The count shown is what this phase may still add; later phases only run if it fails.
        const candidates = first + phaseTotal;
        request.onProgress?.({ status: 'legibility', phase: 'read', candidate: index, candidates, mode: phase.mode });
        const png = await image.png();
        const score = await scoreImage(request.reader, png, request.target);
        scored.push({ seed: image.seed, mode: phase.mode, png, score, record });
        done++;
        request.onProgress?.({ status: 'legibility', phase: 'scored', candidate: index, candidates, exactMatch: score.exactMatch, cer: score.cer, mode: phase.mode });
        request.onCandidate?.({ seed: image.seed, mode: phase.mode, png, score, record });
      }
      if (exact()) {
        stoppedEarly = done < phaseTotal;
        break;
      }
    }
  }
  const order = [...scored].sort((a, b) => compareScores(a.score, b.score));
  const best = order[0]!;
  const candidatesInfo = {
    count: scored.length,
    seeds: scored.map((candidate) => candidate.seed),
    chosenSeed: best.seed,
    ...(scored.some((candidate) => candidate.mode !== 'txt2img') ? { modes: scored.map((candidate) => candidate.mode) } : {}),
  };
  const ranked = order.map((candidate) => ({
    seed: candidate.seed,
    mode: candidate.mode,
    score: candidate.score,
    record: candidate.record,
    png: withRecord(candidate.png, { ...candidate.record, mode: candidate.mode, legibility: candidate.score, candidates: candidatesInfo }),
  }));

  if (!best.score.exactMatch && request.exactFallback) {
    request.signal?.throwIfAborted();
    request.onProgress?.({ status: 'legibility', phase: 'draw', candidate: scored.indexOf(best), candidates: scored.length });
    const fallback = await applyExactTextFallback(request.reader, best.png, request.target, {
      score: best.score,
      position: request.fallbackPosition,
    });
    // sharp drops text chunks: carry the generation parameters over to the composited image.
    const chunks = readPngTextChunks(best.png);
    const kept = Object.entries(chunks).filter(([key]) => key !== letterpressChunkKey);
    const earlier = chunks[letterpressChunkKey];
    if (earlier) kept.push([letterpressChunkKey, earlier]);
    let png = addPngTextChunks(fallback.png, kept);
    png = withRecord(png, { ...best.record, mode: best.mode, legibility: fallback.score, exactTextFallback: true, drawnText: fallback.drawn, candidates: candidatesInfo });
    return { png, seed: best.seed, score: fallback.score, ranked, stoppedEarly, fallback };
  }
  return { png: ranked[0]!.png, seed: best.seed, score: best.score, ranked, stoppedEarly, fallback: null };
}

function wholeCount(value: number): number {
  return Math.max(1, Math.floor(Number.isFinite(value) ? value : 1));
}
