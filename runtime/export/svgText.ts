// The exact text Letterpress drew over an image (its record: runtime/png/letterpressRecord.ts), as real
// SVG text: <text> in the bundled font, embedded as a subset of the glyphs it uses, placed so that its
// letters cover the same pixels the drawn ones do. The font's metrics come from the font file itself
// (opentype.js), the same file Pango drew with, so the size and line spacing are the drawing's own.
import { readFileSync } from 'node:fs';
import * as opentype from 'opentype.js';
import { bundledFontFile } from '../legibility/bundledFont.ts';
import type { DrawnTextRecord } from '../png/letterpressRecord.ts';

let cachedFont: opentype.Font | null = null;

function bundledFont(): opentype.Font {
  if (!cachedFont) {
    const data = readFileSync(bundledFontFile());
    cachedFont = opentype.parse(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  }
  return cachedFont;
}

/** Text for XML content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const round = (value: number) => Math.round(value * 100) / 100;
const rgb = (colour: readonly number[]) => `rgb(${colour.join(',')})`;

/** The family name the SVG's @font-face gives the embedded subset (never a system font's name). */
export const embeddedFontFamily = 'Letterpress Open Sans Bold';

/** The bundled font cut down to the glyphs of `text` (and .notdef), as OpenType bytes. */
function fontSubset(font: opentype.Font, text: string): Buffer {
  const glyphs = [font.glyphs.get(0)];
  const seen = new Set<number>([0]);
  for (const glyph of font.stringToGlyphs(text.replace(/\n/g, ''))) {
    if (glyph.index !== undefined && !seen.has(glyph.index)) {
      seen.add(glyph.index);
      glyphs.push(glyph);
    }
  }
  const subset = new opentype.Font({
    familyName: embeddedFontFamily,
    styleName: 'Bold',
    unitsPerEm: font.unitsPerEm,
    ascender: font.ascender,
    descender: font.descender,
    glyphs,
  });
  return Buffer.from(subset.toArrayBuffer());
}

export interface SvgTextParts {
  /** A <style> element with the font (goes in <defs>). */
  style: string;
  /** The <text> element. */
  text: string;
}

/**
 * The drawn text as SVG: lines centred on each other as Pango laid them out (the font's ascent and
 * descent apart), the whole moved so that its ink box is the recorded one; the outline as a stroke
 * painted under the letters.
 */
export function drawnTextSvg(drawn: DrawnTextRecord): SvgTextParts {
  const font = bundledFont();
  const size = drawn.size;
  const scale = size / font.unitsPerEm;
  const ascent = font.ascender * scale;
  const lineHeight = (font.ascender - font.descender) * scale;
  const lines = drawn.text.split('\n');
  const widths = lines.map((line) => font.getAdvanceWidth(line, size));
  const layoutWidth = Math.max(...widths);
  // The ink of the lines as laid out from (0, 0); the recorded box is where that ink is in the image.
  let x1 = Infinity;
  let y1 = Infinity;
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const bbox = font.getPath(line, (layoutWidth - widths[i]!) / 2, ascent + i * lineHeight, size).getBoundingBox();
    x1 = Math.min(x1, bbox.x1);
    y1 = Math.min(y1, bbox.y1);
  });
  const dx = drawn.box.left - (Number.isFinite(x1) ? x1 : 0);
  const dy = drawn.box.top - (Number.isFinite(y1) ? y1 : 0);
  const centre = round(layoutWidth / 2 + dx);
  const spans = lines.map((line, i) => `<tspan x="${centre}" y="${round(ascent + i * lineHeight + dy)}">${escapeXml(line)}</tspan>`).join('');
  const outline =
    drawn.outline.width > 0
      ? ` stroke="${rgb(drawn.outline.colour)}" stroke-width="${round(2 * drawn.outline.width)}" stroke-linejoin="round" paint-order="stroke"`
      : '';
  const family = `'${embeddedFontFamily}', 'Open Sans', sans-serif`;
  const text =
    `<text font-family="${escapeXml(family)}" font-weight="700" font-size="${round(size)}" fill="${rgb(drawn.colour)}"${outline} ` +
    `text-anchor="middle" xml:space="preserve">${spans}</text>`;
  const fontData = fontSubset(font, drawn.text).toString('base64');
  const style = `<style>@font-face{font-family:'${embeddedFontFamily}';font-weight:700;src:url(data:font/otf;base64,${fontData}) format('opentype')}</style>`;
  return { style, text };
}
