// One image's legibility: what OCR read, how far that is from the target, and where the text sits.
// Stored as JSON in the PNG's `letterpress` tEXt chunk (runtime/png/letterpressRecord.ts) for the
// gallery and the result notification.
import type { LegibilityScore, TextBox } from '../png/letterpressRecord.ts';
import type { CandidateMode } from '../protocol/generationTypes.ts';
import type { ImageLegibility } from '../protocol/runtimeProtocol.ts';
import type { OcrReader, OcrReading } from './ocrReader.ts';
import { keptWords, readingText, unionBox } from './ocrText.ts';
import { scoreWords } from './textScore.ts';


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
