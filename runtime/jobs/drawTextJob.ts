// One `runtime/image/drawText` request: the exact-text fallback on an image that already exists, for
// a finished image whose text came out wrong. Placement comes from the image's own `letterpress`
// record when it scored the same text (else the image is read first); the generation parameters
// stay; the new PNG goes into the host's folder and never replaces a file.
import { stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import sharp from 'sharp';
import { FileExistsError, writeNewFiles } from '../files/newFiles.ts';
import { FileReadError, readRegularFile } from '../files/readRegularFile.ts';
import { maxInputImageBytes, pngHeaderSize, sharpInputOptions } from '../png/imageLimits.ts';
import type { ProgressListener, TextPosition } from '../protocol/generationTypes.ts';
import { applyExactTextFallback } from '../legibility/exactTextFallback.ts';
import { limits } from '../protocol/limits.ts';
import { describeScore } from '../legibility/legibleJob.ts';
import { legibilityChunkText, letterpressChunkKey, parseLegibilityChunk, type LegibilityRecord, type LegibilityScore } from '../png/letterpressRecord.ts';
import { imageLegibility, scoreImage } from '../legibility/legibilityScore.ts';
import type { OcrReader } from '../legibility/ocrReader.ts';
import { isPixelBox } from '../protocol/paramsValidation.ts';
import { normaliseTargetText } from '../protocol/targetText.ts';
import { addPngTextChunks, checkCompletePng, PngFormatError, readPngTextChunks } from '../png/pngTextChunks.ts';
import { RuntimeError, type DrawTextParams, type DrawTextResult } from '../protocol/runtimeProtocol.ts';

const pngSignature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * The image's stored score when it is one for this very text and complete enough to place the drawing
 * (OCR found the text's box, or found nothing like it); null means: read the image first.
 */
export function reusableScore(record: LegibilityRecord | null, target: string): LegibilityScore | null {
  const score = record?.legibility;
  if (!score || score.target !== target) return null;
  if (typeof score.ocrText !== 'string' || typeof score.ocrConfidence !== 'number' || typeof score.wholeCer !== 'number') return null;
  if (score.bbox !== null && !isPixelBox(score.bbox)) return null;
  return score;
}

/** The input PNG's bytes; anything a user can get wrong becomes a 'userError' that names the file. */
export async function readInputPng(input: string): Promise<Buffer> {
  const name = basename(input);
  let data: Buffer;
  try {
    data = await readRegularFile(input, maxInputImageBytes, 'image');
  } catch (error) {
    if (!(error instanceof FileReadError)) throw error;
    if (error.problem === 'missing') throw new RuntimeError('userError', `${input} does not exist (moved or deleted?)`);
    if (error.problem === 'notRegular') throw new RuntimeError('userError', `${error.message}: choose a PNG image`);
    throw new RuntimeError('userError', error.message);
  }
  if (data.length < pngSignature.length || !data.subarray(0, pngSignature.length).equals(pngSignature)) {
    throw new RuntimeError('userError', `${name} is not a PNG image: exact text can only be drawn on PNG files`);
  }
  try {
    checkCompletePng(data);
  } catch (error) {
    if (error instanceof PngFormatError) throw new RuntimeError('userError', `${name} is ${error.message}`);
    throw error;
  }
  return data;
}

export async function imageSize(data: Buffer, name: string): Promise<{ width: number; height: number }> {
  // The header's size first: a pixel bomb is refused before anything is decoded.
  const header = pngHeaderSize(data);
  if (header) checkDrawSize(header.width, header.height, name);
  let width: number | undefined;
  let height: number | undefined;
  try {
    // Decoding the pixels, not just the header, finds a damaged file before any work is done.
    const { info } = await sharp(data, sharpInputOptions).raw().toBuffer({ resolveWithObject: true });
    ({ width, height } = info);
  } catch (error) {
    throw new RuntimeError('userError', `${name} is a damaged PNG: ${(error as Error).message}`);
  }
  checkDrawSize(width, height, name);
  return { width, height };
}

function checkDrawSize(width: number, height: number, name: string): void {
  // Below the minimum the drawn letters are a few pixels high and OCR cannot read them back; above
  // the maximum one OCR pass takes many seconds.
  const { min: minDrawSide, max: maxDrawSide } = limits.drawImageSide;
  if (width < minDrawSide || height < minDrawSide) {
    throw new RuntimeError('userError', `${name} is ${width}×${height}: too small for readable text (at least ${minDrawSide}×${minDrawSide})`);
  }
  if (width > maxDrawSide || height > maxDrawSide) {
    throw new RuntimeError('userError', `${name} is ${width}×${height}: too large (at most ${maxDrawSide}×${maxDrawSide}); scale it down first`);
  }
}

export function textChunksOf(data: Buffer, name: string): Record<string, string> {
  try {
    return readPngTextChunks(data);
  } catch (error) {
    if (error instanceof PngFormatError) throw new RuntimeError('userError', `${name}: ${error.message}`);
    throw error;
  }
}

/** `<stem>-text.png`: the host places it under its final name, this keeps it recognisable meanwhile. */
export function drawnFileName(input: string): string {
  const stem = basename(input, extname(input)).replace(/^\.+/, '') || 'image';
  return `${stem}-text.png`;
}

/** A drawn image, not yet written anywhere. */
export interface DrawnTextImage {
  /** The new PNG: the input's text chunks (generation parameters) kept, a drawn `letterpress` record added. */
  png: Buffer;
  /** OCR's read-back of the drawn image. */
  score: LegibilityScore;
  width: number;
  height: number;
}

/**
 * The exact-text fallback on an existing PNG, shared by the runtime request and `letterpress
 * draw-text`: the input is checked (user errors name it), placed by its own OCR record when that
 * scored the same text, else read first, drawn and read back. `target` is normalised
 * (normaliseTargetText) and valid (targetTextValidator).
 */
export async function drawTextOnImage(
  reader: OcrReader,
  inputPath: string,
  target: string,
  position: TextPosition | undefined,
  hooks: { signal: AbortSignal; onProgress: ProgressListener; log: (line: string) => void },
): Promise<DrawnTextImage> {
  const { signal, onProgress } = hooks;
  const input = await readInputPng(inputPath);
  const name = basename(inputPath);
  const { width, height } = await imageSize(input, name);
  const chunks = textChunksOf(input, name);
  signal.throwIfAborted();

  let score = reusableScore(parseLegibilityChunk(chunks[letterpressChunkKey] ?? ''), target);
  if (!score) {
    onProgress({ status: 'legibility', phase: 'read', candidate: 0, candidates: 1 });
    score = await scoreImage(reader, input, target);
    hooks.log(`${name} before drawing: ${describeScore(score)}`);
    signal.throwIfAborted();
  }
  onProgress({ status: 'legibility', phase: 'draw', candidate: 0, candidates: 1 });
  const fallback = await applyExactTextFallback(reader, input, target, { score, position });
  signal.throwIfAborted();

  // sharp drops text chunks: the generation parameters (and any other tool's notes) come back; the
  // old OCR record is replaced by the read-back of the drawn image.
  const kept = Object.entries(chunks).filter(([key]) => key !== letterpressChunkKey);
  kept.push([letterpressChunkKey, legibilityChunkText({ legibility: fallback.score, exactTextFallback: true, drawnText: fallback.drawn })]);
  const png = addPngTextChunks(fallback.png, kept);
  return { png, score: fallback.score, width, height };
}

export async function runDrawTextJob(
  reader: OcrReader,
  params: DrawTextParams,
  hooks: { signal: AbortSignal; onProgress: ProgressListener; log: (line: string) => void },
): Promise<DrawTextResult> {
  // The params passed drawTextRequest's validator (the server's, or the CLI's call of it).
  const target = normaliseTargetText(params.target);
  await checkOutputFolder(params.outputDir);
  const { png, score, width, height } = await drawTextOnImage(reader, params.input, target, params.position, hooks);
  const file = await writeDrawnImage(params.outputDir, params.input, png);
  hooks.log(`drew the text on ${basename(params.input)}: ${describeScore(score)}`);
  hooks.onProgress({ status: 'done' });
  return { file, width, height, legibility: imageLegibility(score, { exactTextFallback: true, candidateCount: 1 }) };
}

/** The host's (or the CLI's scratch) folder for the new PNG must be there before any work. */
export async function checkOutputFolder(outputDir: string): Promise<void> {
  const isFolder = await stat(outputDir).then((s) => s.isDirectory(), () => false);
  if (!isFolder) throw new RuntimeError('userError', `the output folder ${outputDir} does not exist`);
}

/** Writes `<stem>-text.png` for `input` into `outputDir`, never replacing a file; its path. */
export async function writeDrawnImage(outputDir: string, input: string, png: Buffer): Promise<string> {
  const file = join(outputDir, drawnFileName(input));
  try {
    await writeNewFiles([{ path: file, data: png }]);
  } catch (error) {
    if (error instanceof FileExistsError) throw new RuntimeError('userError', `${file} already exists; it was left as it is`);
    throw error;
  }
  return file;
}
