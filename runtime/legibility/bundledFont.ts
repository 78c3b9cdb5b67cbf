// The font the exact-text fallback draws with: Open Sans Bold, Apache-2.0, shipped in media/fonts
// (licence beside it) so the result looks the same on every machine, whatever fonts it has.
// sharp's text input hands the file to Pango/fontconfig itself (`fontfile`). An SVG <text> through
// librsvg did not see it (tried with sharp 0.35 / librsvg 2.63): an @font-face data URL is ignored,
// and a FONTCONFIG_FILE naming the folder works only if set before fontconfig's first use in the process.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export const bundledFontFamily = 'Open Sans Bold';
const fontFileName = 'OpenSans-Bold.ttf';

let cached: string | null = null;

/** Absolute path of the bundled font, from the sources (runtime/legibility) or the bundle (dist/). */
export function bundledFontFile(): string {
  if (cached) return cached;
  const candidates = [resolve(__dirname, '../../media/fonts', fontFileName), resolve(__dirname, '../media/fonts', fontFileName)];
  const found = candidates.find((path) => existsSync(path));
  if (!found) throw new Error(`the bundled font ${fontFileName} is missing (looked in ${candidates.join(', ')}); reinstall Letterpress`);
  cached = found;
  return found;
}
