// The `letterpress` tEXt chunk of a PNG Letterpress made: a JSON record of what OCR read (the
// legibility score, where the text sits), how the image was made (mode, candidates, drawn text) and,
// for image-to-image, its start image (startImageRecord.ts). PNG vocabulary the runtime writes and
// the host reads (gallery, Draw Exact Text): types and JSON only, no image or OCR library.
import type { CandidateMode, StartImageRecord } from '../protocol/generationTypes.ts';
import type { PixelBox } from '../protocol/paramsValidation.ts';

/** Key of the PNG tEXt chunk that carries the record (legibility and start image alike). */
export const letterpressChunkKey = 'letterpress';

/** A rectangle in image pixels (OCR's words, the text's region): the protocol's box. */
export type TextBox = PixelBox;

export interface LegibilityScore {
  target: string;
  /** What OCR read, less the words it took from texture (see runtime/legibility/ocrText.ts). */
  ocrText: string;
  /** Character error rate of the run of words that best matches the target (see runtime/legibility/textScore.ts). */
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
 * The exact text as Letterpress drew it over an image (the exact-text fallback, Draw Exact Text):
 * enough to draw it again as real text, e.g. in a traced SVG (runtime/export/svgText.ts).
 */
export interface DrawnTextRecord {
  /** The text, lines separated by "\n", centred on each other. */
  text: string;
  /** The bundled font's family (runtime/legibility/bundledFont.ts). */
  font: string;
  /** Font size in pixels. */
  size: number;
  /** Where the letters' ink is (all lines together), in image pixels. */
  box: TextBox;
  colour: [number, number, number];
  /** The outline around the letters (width: how far it reaches past them, pixels; 0 when there is none). */
  outline: { colour: [number, number, number]; width: number };
  /** The rounded plate under the text. */
  plate: { box: TextBox; colour: [number, number, number]; opacity: number; radius: number };
}

export interface LegibilityRecord {
  legibility: LegibilityScore;
  /** Image-to-image / inpainting: the start image (startImageRecord.ts). */
  source?: StartImageRecord;
  /** How this image was made; absent in records written before layout-first and repair existed. */
  mode?: CandidateMode;
  /** True when the exact text was composited over the generated image. */
  exactTextFallback?: boolean;
  /** How that text was drawn (records from before it existed lack it). */
  drawnText?: DrawnTextRecord;
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
