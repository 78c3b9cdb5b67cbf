// Everything CLIP's tokenizer does to text before BPE, as the reference (transformers 5,
// tokenizers backend) does it: special tokens are cut out of the raw text first, then each piece is
// NFC-normalised, whitespace runs become one space, it is lower-cased code point by code point, and
// CLIP's pattern picks out letter runs, single digits, punctuation runs and English contractions.

// Oniguruma's Unicode \s (the reference's regex engine), which differs from JavaScript's \s:
// it has U+0085 (NEL) and lacks U+FEFF.
const space = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const spaceRuns = new RegExp(`[${space}]+`, 'gu');
const preTokenPattern = new RegExp(
  `<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|\\p{L}+|\\p{N}|[^${space}\\p{L}\\p{N}]+`,
  'gu',
);

export type TextPiece = { special: string } | { text: string };

export interface SpecialToken {
  content: string;
  /** Matched in the normalised text rather than the raw text. */
  normalized: boolean;
}

export function normalizeClipText(text: string): string {
  // The reference lower-cases each code point alone, so a final capital sigma becomes σ, not ς
  // (JavaScript's toLowerCase would apply the final-sigma rule, its only context-dependent one).
  return text.normalize('NFC').replace(spaceRuns, ' ').replace(/Σ/g, 'σ').toLowerCase();
}

export function preTokenize(normalized: string): string[] {
  return normalized.match(preTokenPattern) ?? [];
}

/** Cuts special tokens out of the text: leftmost match first, the longest where several start there. */
export function splitOnSpecialTokens(text: string, specials: readonly string[]): TextPiece[] {
  const pieces: TextPiece[] = [];
  const candidates = specials.filter((special) => special !== '');
  // Where each special next occurs; searched again only once the cut has passed it, so a prompt
  // full of "!" stays linear.
  const nextAt = candidates.map((special) => text.indexOf(special));
  let from = 0;
  for (;;) {
    let at = -1;
    let match = '';
    for (let k = 0; k < candidates.length; k++) {
      if (nextAt[k] >= 0 && nextAt[k] < from) nextAt[k] = text.indexOf(candidates[k], from);
      const index = nextAt[k];
      if (index >= 0 && (at < 0 || index < at || (index === at && candidates[k].length > match.length))) {
        at = index;
        match = candidates[k];
      }
    }
    if (at < 0) break;
    if (at > from) pieces.push({ text: text.slice(from, at) });
    pieces.push({ special: match });
    from = at + match.length;
  }
  if (from < text.length) pieces.push({ text: text.slice(from) });
  return pieces;
}

/** The pre-tokens and special tokens of a prompt, in order. */
export function splitClipText(text: string, specials: readonly SpecialToken[]): TextPiece[] {
  const raw = specials.filter((s) => !s.normalized).map((s) => s.content);
  const normalizedSpecials = specials.filter((s) => s.normalized).map((s) => normalizeClipText(s.content));
  const out: TextPiece[] = [];
  for (const piece of splitOnSpecialTokens(text, raw)) {
    if ('special' in piece) {
      out.push(piece);
      continue;
    }
    for (const inner of splitOnSpecialTokens(normalizeClipText(piece.text), normalizedSpecials)) {
      if ('special' in inner) out.push(inner);
      else for (const word of preTokenize(inner.text)) out.push({ text: word });
    }
  }
  return out;
}
