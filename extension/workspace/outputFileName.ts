// Readable, safe file names for generated images: the text the image renders (the quoted part of
// the prompt) or the prompt's first words, plus the preset: `open-24-7-banner.png`. Pure.

const maxSlugLength = 48;
// Names Windows refuses whatever the extension.
const reservedNames = /^(con|prn|aux|nul|com[1-9]|lpt[1-9])$/;

/** Lowercase ASCII words joined by dashes; never empty ("image"), never longer than `maxLength`. */
export function slugify(text: string, maxLength = maxSlugLength): string {
  const ascii = text.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  const words = ascii
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  let slug = '';
  for (const word of words) {
    const next = slug ? `${slug}-${word}` : word;
    if (next.length > maxLength) {
      if (!slug) slug = word.slice(0, maxLength);
      break;
    }
    slug = next;
  }
  if (!slug) return 'image';
  return reservedNames.test(slug) ? `${slug}-image` : slug;
}

/** The words to name the file after: what the image says (quoted text) when the prompt has any. */
export function nameSourceOf(prompt: string): string {
  const quoted = [...prompt.matchAll(/["“”]([^"“”]+)["“”]/g)].map((m) => m[1]!.trim()).filter(Boolean);
  if (quoted.length > 0) return quoted.join(' ');
  // Without quotes, skip the filler words most prompts start with.
  return prompt.replace(/^\s*(?:an?|the)\s+/i, '');
}

/** Base name without extension, e.g. `open-24-7-banner` for 'a neon sign that says "OPEN 24/7"' + "banner". */
export function outputBaseName(prompt: string, presetName?: string): string {
  const preset = presetName ? slugify(presetName, 16) : '';
  const room = preset && preset !== 'image' ? maxSlugLength - preset.length - 1 : maxSlugLength;
  const base = slugify(nameSourceOf(prompt), room);
  if (!preset || preset === 'image' || base.endsWith(`-${preset}`) || base === preset) return base;
  return `${base}-${preset}`;
}
