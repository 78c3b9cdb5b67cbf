// Turning tesseract's words into the text an image shows. On busy, generated backgrounds tesseract
// also "reads" texture: such words come with very low confidence (under 20 where real lettering,
// even misspelt, scores over 30) or are lone symbols. They are left out, so that neither the score
// nor the text box is spoilt by them.
import type { OcrReading, OcrWord } from './ocrReader.ts';
import { comparableText } from './textScore.ts';
import type { TextBox } from '../png/letterpressRecord.ts';

/** Below this a word is taken for texture. */
export const textureWordConfidence = 25;

function isTexture(word: OcrWord, target: string | undefined): boolean {
  // Tesseract sometimes gives a clean read of a short word a confidence near 0; texture that happens
  // to read as one of the target's words is far less likely than that.
  if (target !== undefined && comparableText(target).split(' ').includes(comparableText(word.text))) return false;
  if (word.confidence < textureWordConfidence) return true;
  if (/[\p{L}\p{N}]/u.test(word.text)) return false;
  // A lone symbol ("|", "—", "™") is kept only when the target has it ("R & D").
  return !(target !== undefined && Array.from(word.text).every((ch) => target.includes(ch)));
}

export function keptWords(reading: OcrReading, target?: string): OcrWord[][] {
  return reading.lines.map((line) => line.filter((word) => !isTexture(word, target))).filter((line) => line.length > 0);
}

/** The text read, without texture words, one line per "\n". */
export function readingText(reading: OcrReading, target?: string): string {
  return keptWords(reading, target)
    .map((line) => line.map((word) => word.text).join(' '))
    .join('\n');
}

export function unionBox(boxes: readonly TextBox[]): TextBox | null {
  if (boxes.length === 0) return null;
  const x0 = Math.min(...boxes.map((b) => b.left));
  const y0 = Math.min(...boxes.map((b) => b.top));
  const x1 = Math.max(...boxes.map((b) => b.left + b.width));
  const y1 = Math.max(...boxes.map((b) => b.top + b.height));
  return { left: x0, top: y0, width: x1 - x0, height: y1 - y0 };
}
