// One image's legibility: what OCR read, how far that is from the target, and where the text sits.
// Stored as JSON in the PNG's `letterpress` tEXt chunk for the gallery and the result notification.
import type { CandidateMode, StartImageRecord } from '../protocol/generationTypes.ts';
import type { ImageLegibility } from '../protocol/runtimeProtocol.ts';
import type { OcrReader, OcrReading, TextBox } from './ocrReader.ts';
import { keptWords, readingText, unionBox } from './ocrText.ts';
import { scoreWords } from './textScore.ts';

export interface LegibilityScore {
  target: string;
  /** What OCR read, less the words it took from texture (see ocrText.ts). */
  ocrText: string;
  /** Character error rate of the run of words that best matches the target (see textScore.ts). */
  cer: number;
  exactMatch: boolean;
  /** Character error rate against everything read. */
  wholeCer: number;
  /** Tesseract's page confidence, 0–100. */
  ocrConfidence: number;
  /** Where the best-matching words are; null when no word resembles the target. */
  bbox: TextBox | null;
}

/**
 * Scores the whole image, or only `area` of it. Tesseract's models are trained on dark text on a light
 * ground and often miss light letters on a dark one (white "OK" on black read as "0]" or as nothing,
 * while the same picture inverted read "OK"): a reading that is not exact is tried again on the
 * negative, and the better of the two counts. That costs one more OCR pass only for images that
 * failed the first, against a whole generation per candidate.
 */
export async function scoreImage(reader: OcrReader, image: Buffer, target: string, area?: TextBox): Promise<LegibilityScore> {
  const direct = scoreReading(await reader.read(image, area), target);
  if (direct.exactMatch) return direct;
  const inverted = scoreReading(await reader.read(image, area, { negative: true }), target);
  return compareScores(inverted, direct) < 0 ? inverted : direct;
}

export function scoreReading(reading: OcrReading, target: string): LegibilityScore {
  const words = keptWords(reading, target).flat();
  const score = scoreWords(target, words.map((word) => word.text));
  const matched = words.slice(score.start, score.end);
  return {
    target,
    ocrText: readingText(reading, target),
    cer: score.cer,
    exactMatch: score.exactMatch,
    wholeCer: score.wholeCer,
    ocrConfidence: reading.confidence,
    bbox: score.cer < 1 && matched.length > 0 ? unionBox(matched.map((word) => word.box)) : null,
  };
}

/** Best first: an exact match, then the lower error rate, then the higher OCR confidence. */
export function compareScores(a: LegibilityScore, b: LegibilityScore): number {
  if (a.exactMatch !== b.exactMatch) return a.exactMatch ? -1 : 1;
  if (a.cer !== b.cer) return a.cer - b.cer;
  return b.ocrConfidence - a.ocrConfidence;
}

/** A score as the protocol reports it with an image (flattened for the host and the gallery). */
export function imageLegibility(
  score: LegibilityScore,
  extra: { exactTextFallback: boolean; candidateCount: number; mode?: CandidateMode },
): ImageLegibility {
  const { mode, ...rest } = extra;
  return {
    target: score.target,
    ocrText: score.ocrText,
    cer: score.cer,
    exactMatch: score.exactMatch,
    ocrConfidence: score.ocrConfidence,
    ...rest,
    ...(mode && mode !== 'txt2img' ? { mode } : {}),
  };
}

/** Key of the PNG tEXt chunk that carries the legibility record. */
export const legibilityChunkKey = 'letterpress';


export interface LegibilityRecord {
  legibility: LegibilityScore;
  /** Image-to-image / inpainting: the start image (runtime/png/startImageRecord.ts). */
  source?: StartImageRecord;
  /** How this image was made; absent in records written before layout-first and repair existed. */
  mode?: CandidateMode;
  /** True when the exact text was composited over the generated image. */
  exactTextFallback?: boolean;
  /** How many candidates were generated and which seed won. */
  candidates?: { count: number; seeds: number[]; chosenSeed: number; /** Each candidate's mode, when not all were text-to-image. */ modes?: CandidateMode[] };
}

export function legibilityChunkText(record: LegibilityRecord): string {
  const { legibility } = record;
  return JSON.stringify({
    ...record,
    legibility: {
      ...legibility,
      cer: Math.round(legibility.cer * 1e4) / 1e4,
      wholeCer: Math.round(legibility.wholeCer * 1e4) / 1e4,
      ocrConfidence: Math.round(legibility.ocrConfidence * 10) / 10 },
  });
}

/** Parses a chunk written by legibilityChunkText; null for text that is not such a record. */
export function parseLegibilityChunk(text: string): LegibilityRecord | null {
  try {
    const value = JSON.parse(text) as Partial<LegibilityRecord>;
    const l = value.legibility;
    if (!l || typeof l.target !== 'string' || typeof l.cer !== 'number' || typeof l.exactMatch !== 'boolean') return null;
    return value as LegibilityRecord;
  } catch {
    return null;
  }
}
