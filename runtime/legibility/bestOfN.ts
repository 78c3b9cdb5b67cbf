// Best of N: generate several seeds in batches, read each image with OCR, keep the one that spells
// the target best (exact match, then character error rate, then OCR confidence) and offer the rest.
// Stops as soon as a batch holds an exact match. Optionally draws the exact text over the winner
// when none matched. Written against the pipeline's ImageGenerator contract, structurally, so any
// generator with that generate() shape serves.
import type { GenerateOptions, ProgressListener } from '../protocol/generationTypes.ts';
import { addPngTextChunk, readPngTextChunks } from '../png/pngTextChunks.ts';
import type { FallbackResult, TextPosition } from './exactTextFallback.ts';
import { applyExactTextFallback } from './exactTextFallback.ts';
import type { LegibilityRecord, LegibilityScore } from './legibilityScore.ts';
import { compareScores, legibilityChunkKey, legibilityChunkText, scoreImage } from './legibilityScore.ts';
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
  /** The PNG as generated, with the `letterpress` legibility chunk added. */
  png: Buffer;
  score: LegibilityScore;
}

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

function withRecord(png: Buffer, record: LegibilityRecord): Buffer {
  return addPngTextChunk(png, legibilityChunkKey, legibilityChunkText(record));
}

export async function generateBestOfN(request: BestOfNRequest): Promise<BestOfNResult> {
  const decide = typeof request.candidates === 'function' ? request.candidates : undefined;
  let total = decide ? Number.POSITIVE_INFINITY : wholeCount(request.candidates as number);
  let batchSize = Math.max(1, Math.floor(request.batchSize ?? 2));
  const scored: Array<{ seed: number; png: Buffer; score: LegibilityScore }> = [];
  let stoppedEarly = false;
  while (scored.length < total) {
    request.signal?.throwIfAborted();
    // Until the count is decided, one image: it loads the model and tells which provider runs.
    const count = Number.isFinite(total) ? Math.min(batchSize, total - scored.length) : 1;
    const first = scored.length;
    const { images, provider, batchSize: preferred } = await request.generator.generate(
      { ...request.options, seed: request.options.seed + first, numImages: count },
      {
        // Image indices count across batches, so progress reads "image 3 of 4" for the third candidate.
        onProgress: request.onProgress && ((event) => request.onProgress!('image' in event ? { ...event, image: event.image + first } : event)),
        signal: request.signal,
      },
    );
    if (images.length === 0) throw new Error('the generator returned no image');
    if (request.batchSize === undefined && preferred !== undefined) batchSize = Math.max(1, Math.floor(preferred));
    if (decide && !Number.isFinite(total)) total = wholeCount(decide(provider));
    for (const image of images) {
      request.signal?.throwIfAborted();
      const index = scored.length;
      request.onProgress?.({ status: 'legibility', phase: 'read', candidate: index, candidates: total });
      const png = await image.png();
      const score = await scoreImage(request.reader, png, request.target);
      scored.push({ seed: image.seed, png, score });
      request.onProgress?.({ status: 'legibility', phase: 'scored', candidate: index, candidates: total, exactMatch: score.exactMatch, cer: score.cer });
      request.onCandidate?.({ seed: image.seed, png, score });
    }
    if (scored.some((candidate) => candidate.score.exactMatch)) {
      stoppedEarly = scored.length < total;
      break;
    }
  }
  const order = [...scored].sort((a, b) => compareScores(a.score, b.score));
  const seeds = scored.map((candidate) => candidate.seed);
  const ranked = order.map((candidate) => ({
    ...candidate,
    png: withRecord(candidate.png, { legibility: candidate.score, candidates: { count: scored.length, seeds, chosenSeed: order[0]!.seed } }),
  }));
  const best = order[0]!;
  const candidatesInfo = { count: scored.length, seeds, chosenSeed: best.seed };

  if (!best.score.exactMatch && request.exactFallback) {
    request.signal?.throwIfAborted();
    request.onProgress?.({ status: 'legibility', phase: 'draw', candidate: scored.indexOf(best), candidates: scored.length });
    const fallback = await applyExactTextFallback(request.reader, best.png, request.target, {
      score: best.score,
      position: request.fallbackPosition,
    });
    // sharp drops text chunks: carry the generation parameters over to the composited image.
    let png = fallback.png;
    for (const [key, text] of Object.entries(readPngTextChunks(best.png))) {
      if (key !== legibilityChunkKey) png = addPngTextChunk(png, key, text);
    }
    png = withRecord(png, { legibility: fallback.score, exactTextFallback: true, candidates: candidatesInfo });
    return { png, seed: best.seed, score: fallback.score, ranked, stoppedEarly, fallback };
  }
  return { png: ranked[0]!.png, seed: best.seed, score: best.score, ranked, stoppedEarly, fallback: null };
}

function wholeCount(value: number): number {
  return Math.max(1, Math.floor(Number.isFinite(value) ? value : 1));
}
