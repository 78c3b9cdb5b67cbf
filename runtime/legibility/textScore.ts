// How close an OCR reading is to the target text. Both sides are compared case-insensitively with
// whitespace (line breaks included) collapsed, because the model's lettering case and line breaking
// are style, not spelling; so an exact match always has a character error rate of 0.
// The target is matched against the run of consecutive words that fits it best, not against all the
// text read: a street scene may carry other signs, and tesseract reads a stray word or digit into
// busy texture; neither makes the requested text less right.

export interface TextScore {
  /** Levenshtein distance / target length against the best run of words; 0 is perfect, at most 1. */
  cer: number;
  /** The best run of words equals the target (case-insensitive, whitespace-normalised). */
  exactMatch: boolean;
  /** Edit distance in characters against the best run. */
  distance: number;
  /** The best run: words [start, end) of the reading; empty (start = end) when nothing matches at all. */
  start: number;
  end: number;
  /** Levenshtein distance / target length against everything read, for reference. */
  wholeCer: number;
}

/**
 * The form both texts are compared in: NFKC, typographic quotes and dashes made plain, case folded,
 * one space between words and none around punctuation.
 */
export function comparableText(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/[\u2018\u2019\u201A\u2032]/g, "'")
    .replace(/[\u201C\u201D\u201E\u2033]/g, '"')
    .replace(/[\u2010-\u2015\u2212]/g, '-')
    .toLowerCase()
    .replace(/\s+/gu, ' ')
    // OCR adds and drops spaces next to punctuation ("No. 9" read as "No.9"): such spaces do not count.
    .replace(/ ?([^\p{L}\p{N} ]) ?/gu, '$1')
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

const edgePunctuation = /^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu;

/**
 * Punctuation glued to the ends of a run ("OPEN 24/7 i.." read as `"OPEN` … ) is dropped unless the
 * target itself begins or ends with punctuation: a quote mark or a plate's edge read as "|" is not a misspelling.
 */
function trimRunEdges(run: string, wanted: string): string {
  const leading = /^[^\p{L}\p{N}]/u.test(wanted);
  const trailing = /[^\p{L}\p{N}]$/u.test(wanted);
  if (leading && trailing) return run;
  return run.replace(edgePunctuation, (match, offset: number) => {
    const atStart = offset === 0;
    return (atStart && leading) || (!atStart && trailing) ? match : '';
  });
}

/**
 * Scores `words` (the reading split at whitespace, or OCR's own words) against the target. Runs of up
 * to twice the target's word count (plus two) are tried, which keeps this quadratic only in that count.
 */
export function scoreWords(target: string, words: readonly string[]): TextScore {
  const wanted = comparableText(target);
  if (wanted.length === 0) throw new Error('cannot score against an empty target text');
  const length = Array.from(wanted).length;
  const tokens = words.map(comparableText);
  const maxRun = 2 * wanted.split(' ').length + 2;
  let best = { distance: length, start: 0, end: 0 };
  for (let i = 0; i < tokens.length && best.distance > 0; i++) {
    if (!tokens[i]) continue;
    for (let j = i + 1; j <= Math.min(tokens.length, i + maxRun); j++) {
      const run = trimRunEdges(comparableText(tokens.slice(i, j).filter(Boolean).join(' ')), wanted);
      const distance = levenshtein(wanted, run);
      if (distance < best.distance) best = { distance, start: i, end: j };
      if (distance === 0) break;
    }
  }
  const whole = comparableText(tokens.filter(Boolean).join(' '));
  return {
    cer: best.distance / length,
    exactMatch: best.distance === 0,
    distance: best.distance,
    start: best.start,
    end: best.end,
    wholeCer: levenshtein(wanted, whole) / length,
  };
}

export function scoreText(target: string, ocrText: string): TextScore {
  return scoreWords(target, ocrText.split(/\s+/u).filter(Boolean));
}
