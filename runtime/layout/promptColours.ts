// The two colours of a layout picture — the letters and what they stand on — read from the prompt's
// own words ("gold letters on a navy background", "a red sign", "white text on black") with a small
// colour-word table, else a contrasting neutral pair. The model restyles the layout, so these only need
// to point it the right way; they must above all keep the drawn letters readable.
import type { Rgb } from '../legibility/regionColours.ts';
import { contrastRatio } from '../legibility/regionColours.ts';
import { quotedStrings } from '../protocol/targetText.ts';

/** Colour words people put in prompts, as plain sRGB. */
export const colourWords: ReadonlyMap<string, Rgb> = new Map<string, Rgb>([
  ['red', [200, 30, 40]],
  ['crimson', [170, 20, 50]],
  ['orange', [240, 130, 20]],
  ['yellow', [250, 215, 40]],
  ['gold', [212, 170, 50]],
  ['golden', [212, 170, 50]],
  ['green', [40, 150, 60]],
  ['lime', [150, 220, 50]],
  ['teal', [0, 128, 128]],
  ['cyan', [40, 200, 220]],
  ['turquoise', [60, 200, 190]],
  ['blue', [40, 90, 200]],
  ['navy', [20, 30, 90]],
  ['purple', [120, 50, 160]],
  ['violet', [140, 80, 200]],
  ['magenta', [210, 40, 160]],
  ['pink', [240, 120, 170]],
  ['brown', [110, 70, 40]],
  ['beige', [225, 210, 180]],
  ['cream', [245, 238, 215]],
  ['white', [250, 250, 248]],
  ['black', [18, 18, 20]],
  ['grey', [128, 128, 128]],
  ['gray', [128, 128, 128]],
  ['silver', [192, 192, 196]],
  ['charcoal', [50, 52, 56]],
]);

/** Nouns a colour describes when it is the ground the letters stand on. */
const groundNouns = new Set([
  'background', 'backdrop', 'wall', 'sky', 'paper', 'board', 'sign', 'signboard', 'banner', 'card', 'poster',
  'plate', 'canvas', 'field', 'surface', 'page', 'label', 'badge', 'button', 'icon', 'logo', 'screen', 'header',
]);
/** Nouns a colour describes when it is the letters' own. */
const inkNouns = new Set(['text', 'letters', 'letter', 'lettering', 'font', 'type', 'typography', 'ink', 'words', 'word', 'glyphs', 'title', 'writing', 'script', 'caption', 'headline']);

/** How far ahead of a colour word its noun may come ("gold serif letters", "a red wooden sign"). */
const nounReach = 3;

export interface LayoutColours {
  background: Rgb;
  ink: Rgb;
  /** Which of the two the prompt named; the others are the neutral pair's. */
  named: { background: boolean; ink: boolean };
}

export const neutralLight: Rgb = [242, 242, 238];
export const neutralDark: Rgb = [22, 22, 24];

function shade(rgb: Rgb, modifier: string | undefined): Rgb {
  if (modifier === 'dark' || modifier === 'deep') return rgb.map((c) => Math.round(c * 0.55)) as Rgb;
  if (modifier === 'light' || modifier === 'pale' || modifier === 'pastel') return rgb.map((c) => Math.round(c + (255 - c) * 0.5)) as Rgb;
  return rgb;
}

/** Black-ish or white-ish, whichever stands out more against `rgb`. */
export function contrastingNeutral(rgb: Rgb): Rgb {
  return contrastRatio(neutralDark, rgb) >= contrastRatio(neutralLight, rgb) ? neutralDark : neutralLight;
}

/**
 * Below this the drawn letters are hard to read — for OCR and for the model, which restyles what it
 * sees. 3:1 is WCAG's floor for large text, which layout text always is.
 */
export const minLayoutContrast = 3;

/** The prompt without what it quotes: the words to render ("RED SALE") say nothing about colours. */
function describingWords(prompt: string): string[] {
  let rest = prompt;
  for (const quoted of quotedStrings(prompt)) rest = rest.split(quoted).join(' ');
  return rest.toLowerCase().match(/[a-z]+/g) ?? [];
}

export function coloursFromPrompt(prompt: string): LayoutColours {
  const words = describingWords(prompt);
  let ink: Rgb | undefined;
  let background: Rgb | undefined;
  const loose: Rgb[] = [];
  for (let i = 0; i < words.length; i++) {
    const base = colourWords.get(words[i]!);
    if (!base) continue;
    const colour = shade(base, words[i - 1]);
    // "white text on black", "on a navy background": what follows "on" is the ground.
    const afterOn = words[i - 1] === 'on' || (words[i - 2] === 'on' && ['a', 'an', 'the', 'dark', 'light', 'deep', 'pale', 'pastel'].includes(words[i - 1]!));
    let role: 'ink' | 'ground' | undefined = afterOn ? 'ground' : undefined;
    for (let j = i + 1; !role && j <= Math.min(words.length - 1, i + nounReach); j++) {
      if (inkNouns.has(words[j]!)) role = 'ink';
      else if (groundNouns.has(words[j]!)) role = 'ground';
      else if (colourWords.has(words[j]!) || words[j] === 'on' || words[j] === 'and' || words[j] === 'with') break;
    }
    if (role === 'ink') ink ??= colour;
    else if (role === 'ground') background ??= colour;
    else loose.push(colour);
  }
  // "a green and white icon": colours without a noun of their own fill what is left, letters first.
  for (const colour of loose) {
    if (!ink) ink = colour;
    else if (!background) background = colour;
  }
  const named = { background: background !== undefined, ink: ink !== undefined };
  if (!background && !ink) return { background: neutralLight, ink: neutralDark, named };
  if (!background) background = contrastingNeutral(ink!);
  if (!ink || contrastRatio(ink, background) < minLayoutContrast) {
    // Two named colours too close to read ("yellow on white"): the ground stays, the letters go neutral.
    return { background, ink: contrastingNeutral(background), named: { background: named.background, ink: false } };
  }
  return { background, ink, named };
}
