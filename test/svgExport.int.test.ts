// "SVG (traced)" export on real images, through the `letterpress export` command (the runtime's export
// job): a well-formed SVG document (parsed as XML) whose root is <svg> with the image's size as its
// viewBox, no more fill colours than asked for, close to the PNG when rendered (librsvg, through sharp);
// and, for an image whose text Letterpress drew (draw-text writes the record), that text as real
// <text> in an embedded subset of the bundled font, over the same pixels, with the drawn letters gone
// from the traced shapes.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import * as opentype from 'opentype.js';
import sharp from 'sharp';
import { renderLayoutPicture } from '../runtime/layout/layoutPicture.ts';
import { letterpressChunkKey, parseLegibilityChunk } from '../runtime/png/letterpressRecord.ts';
import { readPngTextChunks } from '../runtime/png/pngTextChunks.ts';
import { runLetterpress } from './cliProcess.ts';

const dir = realpathSync(mkdtempSync(join(tmpdir(), 'letterpress-svg-')));
after(() => rmSync(dir, { recursive: true, force: true }));

interface SvgDocument {
  root: Record<string, unknown>;
  fills: Set<string>;
  text: Record<string, unknown> | undefined;
}

/** Parses the SVG as XML (a malformed document fails here) and collects what the tests look at. */
function parseSvg(svg: string): SvgDocument {
  assert.equal(XMLValidator.validate(svg), true, 'well-formed XML');
  const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', preserveOrder: false, isArray: (name) => ['path', 'tspan'].includes(name) }).parse(svg);
  const root = parsed.svg as Record<string, unknown> | undefined;
  assert.ok(root, 'the root element is <svg>');
  assert.equal(root.xmlns, 'http://www.w3.org/2000/svg');
  const group = root.g as { path?: Array<Record<string, string>> } | undefined;
  const fills = new Set((group?.path ?? []).map((path) => path.fill!));
  return { root, fills, text: root.text as Record<string, unknown> | undefined };
}

async function exportSvg(input: string, colours?: number): Promise<{ svg: string; stdout: string }> {
  const outDir = join(dir, `out-${Math.random().toString(36).slice(2)}`);
  const result = await runLetterpress(['export', '--input', input, '--preset', 'svg', '--out-dir', outDir, ...(colours ? ['--colours', String(colours)] : [])]);
  assert.equal(result.code, 0, result.stderr);
  const name = input.split('/').pop()!.replace(/\.png$/, '.svg');
  return { svg: readFileSync(join(outDir, name), 'utf8'), stdout: result.stdout };
}

/** Mean absolute difference per channel (0–255) between the SVG rendered by librsvg and the PNG. */
async function renderError(svg: string, png: string | Buffer): Promise<number> {
  const expected = await sharp(png).flatten({ background: '#ffffff' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const rendered = await sharp(Buffer.from(svg)).resize(expected.info.width, expected.info.height, { fit: 'fill' }).flatten({ background: '#ffffff' }).removeAlpha().raw().toBuffer();
  let sum = 0;
  for (let i = 0; i < rendered.length; i++) sum += Math.abs(rendered[i]! - expected.data[i]!);
  return sum / rendered.length;
}

test('a two-colour icon: valid SVG, root <svg> with the image size as viewBox, 2 colours, close to the PNG, no <text>', async () => {
  const input = join(dir, 'open-icon.png');
  writeFileSync(input, (await renderLayoutPicture({ target: 'OPEN', prompt: 'gold letters on a navy background', width: 320, height: 320 })).png);
  const { svg, stdout } = await exportSvg(input, 2);
  const doc = parseSvg(svg);
  assert.equal(doc.root.viewBox, '0 0 320 320');
  assert.deepEqual([doc.root.width, doc.root.height], ['320', '320']);
  assert.equal(doc.fills.size, 2, `fills: ${[...doc.fills].join(' ')}`);
  assert.equal(doc.text, undefined, 'no record of drawn text: no <text>');
  const error = await renderError(svg, input);
  assert.ok(error < 4, `mean error ${error.toFixed(2)} of 255`);
  assert.match(stdout, /traced in 2 of at most 2 colours/);
});

test('the colour count is honoured: four flat colours traced in 4, in 2, and by default', async () => {
  const quadrants = `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="160">
    <rect width="100" height="80" fill="#d02020"/><rect x="100" width="100" height="80" fill="#20a040"/>
    <rect y="80" width="100" height="80" fill="#2040d0"/><rect x="100" y="80" width="100" height="80" fill="#f0e010"/></svg>`;
  const input = join(dir, 'quadrants.png');
  await sharp(Buffer.from(quadrants)).png().toFile(input);
  const four = await exportSvg(input, 4);
  assert.equal(parseSvg(four.svg).fills.size, 4);
  assert.ok((await renderError(four.svg, input)) < 2, 'four flat colours come back as they were');
  const two = await exportSvg(input, 2);
  assert.ok(parseSvg(two.svg).fills.size <= 2, 'at most 2 fills');
  assert.ok((await renderError(two.svg, input)) > 10, 'two colours cannot show four');
  const byDefault = await exportSvg(input);
  assert.equal(parseSvg(byDefault.svg).fills.size, 4, 'the default (8) leaves 4 colours as 4');
  assert.equal(parseSvg(byDefault.svg).root.viewBox, '0 0 200 160');
});

test('text Letterpress drew stays real <text>: the exact lines, the embedded bundled font, over the drawn letters, which leave the shapes', async () => {
  // A textured picture, the text drawn on it by draw-text (which records what it drew).
  const base = join(dir, 'texture.png');
  const pixels = Buffer.alloc(384 * 256 * 3);
  for (let y = 0; y < 256; y++) {
    for (let x = 0; x < 384; x++) {
      for (let c = 0; c < 3; c++) pixels[(y * 384 + x) * 3 + c] = 128 + Math.round(90 * Math.sin(x / (11 + 4 * c)) * Math.cos(y / (17 - 3 * c)));
    }
  }
  await sharp(pixels, { raw: { width: 384, height: 256, channels: 3 } }).png().toFile(base);
  const input = join(dir, 'sale.png');
  const target = 'SALE 50%\nR&D <today>';
  const drawn = await runLetterpress(['draw-text', '--image', base, '--text', target, '--out', input]);
  assert.equal(drawn.code, 0, drawn.stderr);
  const record = parseLegibilityChunk(readPngTextChunks(readFileSync(input))[letterpressChunkKey]!)!.drawnText!;
  assert.ok(record, 'draw-text records the drawn text');

  const { svg, stdout } = await exportSvg(input, 8);
  const doc = parseSvg(svg);
  assert.equal(doc.root.viewBox, '0 0 384 256');
  assert.ok(doc.fills.size <= 8);
  assert.match(stdout, /kept as text/);
  const text = doc.text!;
  assert.ok(text, 'a <text> element');
  const spans = text.tspan as Array<Record<string, string | number>>;
  // Markup characters come back as the characters they are (the parser decodes the entities).
  assert.deepEqual(spans.map((span) => String(span['#text'])), target.split('\n'));
  assert.match(String(text['font-family']), /^'Letterpress Open Sans Bold'/);

  // The embedded font is a subset of the bundled one that holds every glyph of the text.
  const fontData = /url\(data:font\/otf;base64,([A-Za-z0-9+/=]+)\)/.exec(svg)?.[1];
  assert.ok(fontData, 'an @font-face with the font embedded');
  const bytes = Buffer.from(fontData, 'base64');
  const embedded = opentype.parse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  for (const char of target.replace(/\s/g, '')) assert.ok(embedded.charToGlyphIndex(char) > 0, `the embedded font has "${char}"`);
  assert.ok(bytes.length < 20_000, `a subset (${bytes.length} bytes), not the whole font`);

  // Laid out with the embedded font at the SVG's size and positions, the letters' ink is where the
  // drawn letters were (the record's box), within a pixel.
  const size = Number(text['font-size']);
  let [x1, y1, x2, y2] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const span of spans) {
    const line = String(span['#text']);
    const left = Number(span.x) - embedded.getAdvanceWidth(line, size) / 2; // text-anchor="middle"
    const box = embedded.getPath(line, left, Number(span.y), size).getBoundingBox();
    [x1, y1, x2, y2] = [Math.min(x1, box.x1), Math.min(y1, box.y1), Math.max(x2, box.x2), Math.max(y2, box.y2)];
  }
  const { box } = record;
  for (const [got, want] of [[x1, box.left], [y1, box.top], [x2, box.left + box.width], [y2, box.top + box.height]] as const) {
    assert.ok(Math.abs(got - want) <= 1.5, `ink edge ${got.toFixed(1)} vs drawn ${want}`);
  }

  // Without the <text>, the drawn letters' box is plate colour only: the letters were not traced too.
  const shapesOnly = await sharp(Buffer.from(svg.replace(/<text[\s\S]*<\/text>/, '')))
    .extract({ left: box.left, top: box.top, width: box.width, height: box.height })
    .removeAlpha()
    .raw()
    .toBuffer();
  let off = 0;
  for (let i = 0; i < shapesOnly.length; i += 3) {
    const distance = Math.max(...[0, 1, 2].map((c) => Math.abs(shapesOnly[i + c]! - record.plate.colour[c]!)));
    if (distance > 40) off++;
  }
  assert.ok(off / (shapesOnly.length / 3) < 0.01, `${off} pixels of the text box are not the plate's colour`);
});

test('--colours is checked before any work: out of range, or with a preset that takes none', async () => {
  const input = join(dir, 'quadrants.png');
  for (const [args, message] of [
    [['--preset', 'svg', '--colours', '1'], /--colours must be a whole number from 2 to 64/],
    [['--preset', 'svg', '--colours', '2.5'], /--colours must be a whole number/],
    [['--preset', 'icons', '--colours', '4'], /--colours does not go with the icons preset/],
  ] as const) {
    const result = await runLetterpress(['export', '--input', input, '--out-dir', join(dir, 'refused'), ...args]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, message);
  }
  assert.equal(existsSync(join(dir, 'refused')), false, 'no folder made');
});
