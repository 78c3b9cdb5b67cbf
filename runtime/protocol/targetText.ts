// Which words the image must show. Users quote them in the prompt (`a neon sign that says "OPEN 24/7"`)
// or give them in an explicit field; the explicit field wins because it needs no guessing.

/** Opening quote → the characters that may close it. */
const quotePairs: ReadonlyMap<string, string> = new Map([
  ['"', '"'],
  ["'", "'"],
  ['\u201C', '\u201D'], // “ ”
  ['\u201E', '\u201D\u201C'], // „ closed by ” or “ (German style)
  ['\u2018', '\u2019'], // ‘ ’
  ['\u00AB', '\u00BB'], // « »
]);

const wordChar = /[\p{L}\p{N}]/u;

function isWordChar(ch: string | undefined): boolean {
  return ch !== undefined && wordChar.test(ch);
}

function isSpace(ch: string | undefined): boolean {
  return ch !== undefined && /\s/u.test(ch);
}

/**
 * Quoted strings in the prompt, in order. A quote counts as opening only after the start, a space or
 * punctuation, and as closing only before the end, a space or punctuation, so the apostrophes in
 * "don't" and the inch mark in `12" pizza` are not taken for quotes.
 */
export function quotedStrings(prompt: string): string[] {
  const chars = Array.from(prompt);
  const found: string[] = [];
  let i = 0;
  while (i < chars.length) {
    const open = chars[i]!;
    const closers = quotePairs.get(open);
    // Single quotes double as apostrophes ("the dogs' bowl"), so they must also hug their text.
    const hugs = open === "'" || open === '\u2018';
    const canOpen = closers !== undefined && !isWordChar(chars[i - 1]) && !(hugs && isSpace(chars[i + 1])) && i + 1 < chars.length;
    if (!canOpen) {
      i++;
      continue;
    }
    let end = -1;
    for (let j = i + 1; j < chars.length; j++) {
      if (!closers.includes(chars[j]!)) continue;
      if (isWordChar(chars[j + 1]) || (hugs && isSpace(chars[j - 1]))) continue;
      end = j;
      break;
    }
    if (end < 0) {
      i++;
      continue;
    }
    const inner = normaliseTargetText(chars.slice(i + 1, end).join(''));
    if (inner) found.push(inner);
    i = end + 1;
  }
  return found;
}

/** Trims each line and collapses runs of spaces; keeps line breaks (two-line text). */
export function normaliseTargetText(text: string): string {
  return text
    .replace(/\\n/g, '\n')
    .split(/\r?\n/)
    .map((line) => line.replace(/[^\S\n]+/gu, ' ').trim())
    .filter((line) => line.length > 0)
    .join('\n');
}

/**
 * The text a job must render: the explicit field when given (even if the prompt quotes something
 * else), otherwise every quoted string of the prompt, one per line. Null when there is none.
 */
export function resolveTargetText(input: { prompt: string; text?: string | null }): string | null {
  if (input.text !== undefined && input.text !== null) {
    const explicit = normaliseTargetText(input.text);
    if (explicit) return explicit;
  }
  const quoted = quotedStrings(input.prompt);
  return quoted.length > 0 ? quoted.join('\n') : null;
}
