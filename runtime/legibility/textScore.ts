// How close an OCR reading is to the target text. Both sides are compared case-insensitively with
// whitespace (line breaks included) collapsed, because the model's lettering case and line breaking
// are style, not spelling; so an exact match always has a character error rate of 0.

export interface TextScore {
  /** Levenshtein distance / target length, on the compared forms; 0 is perfect, can exceed 1. */
  cer: number;
  /** Case-insensitive, whitespace-normalised equality. */
  exactMatch: boolean;
  /** Edit distance in characters. */
  distance: number;
}

/** The form both texts are compared in: NFKC, typographic quotes and dashes made plain, case folded, one space between words. */
export function comparableText(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/[\u2018\u2019\u201A\u2032]/g, "'")
    .replace(/[\u201C\u201D\u201E\u2033]/g, '"')
    .replace(/[\u2010-\u2015\u2212]/g, '-')
    .toLowerCase()
    .replace(/\s+/gu, ' ')
    .trim();
}

/** Levenshtein distance over Unicode code points, two rows of memory. */
export function levenshtein(a: string, b: string): number {
  const s = Array.from(a);
  const t = Array.from(b);
  if (s.length === 0) return t.length;
  if (t.length === 0) return s.length;
  let previous = new Array<number>(t.length + 1);
  let current = new Array<number>(t.length + 1);
  for (let j = 0; j <= t.length; j++) previous[j] = j;
  for (let i = 1; i <= s.length; i++) {
    current[0] = i;
    for (let j = 1; j <= t.length; j++) {
      const substitution = previous[j - 1]! + (s[i - 1] === t[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution);
    }
    [previous, current] = [current, previous];
  }
  return previous[t.length]!;
}

export function scoreText(target: string, ocrText: string): TextScore {
  const wanted = comparableText(target);
  if (wanted.length === 0) throw new Error('cannot score against an empty target text');
  const read = comparableText(ocrText);
  const distance = levenshtein(wanted, read);
  return { cer: distance / Array.from(wanted).length, exactMatch: wanted === read, distance };
}
