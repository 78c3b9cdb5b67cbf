// "SVG (traced)": an image as vector shapes, for logos and icons. libimagequant (through sharp) reduces
// the image to at most `colours` colours, and imagetracerjs traces each colour's areas as paths. When Letterpress drew the image's text itself (its record
// says what, where, how large and in which colours), the drawn letters are painted out before tracing
// and come back as real <text> in the bundled font (svgText.ts): exact, selectable, editable.
import sharp from 'sharp';
import { sharpInputOptions } from '../png/imageLimits.ts';
import type { DrawnTextRecord } from '../png/letterpressRecord.ts';
import { drawnTextSvg } from './svgText.ts';

/** What imagetracerjs 1.2.6 (a CommonJS singleton, no type declarations) offers that is used here. */
interface TraceData {
  layers: Array<Array<{ isholepath: boolean }>>;
  palette: Array<{ r: number; g: number; b: number; a: number }>;
  width: number;
  height: number;
}
interface ImageTracerApi {
  imagedataToTracedata(image: { width: number; height: number; data: Uint8ClampedArray }, options: Record<string, unknown>): TraceData;
  svgpathstring(trace: TraceData, layer: number, path: number, options: Record<string, unknown>): string;
  checkoptions(options: Record<string, unknown>): Record<string, unknown>;
}
const imageTracer = require('imagetracerjs') as ImageTracerApi;

/**
 * The longest side traced. imagetracerjs keeps a JavaScript array per pixel row and scans each colour
 * layer: time and memory grow with the pixels (about 0.3 s at 512², 16 colours). Larger images are
 * traced at this size and the paths scaled back, so the SVG still has the image's own size.
 */
export const maxTraceSide = 1024;

export interface TracedSvg {
  svg: string;
  width: number;
  height: number;
  /** Distinct fill colours of the traced shapes (the text's own colours not counted). */
  colours: number;
  /** The drawn text came back as <text>. */
  textKept: boolean;
}

/** Does the record's drawing lie inside this image (a resized or cropped copy keeps a stale record)? */
function fitsImage(drawn: DrawnTextRecord, width: number, height: number): boolean {
  const inside = (box: DrawnTextRecord['box']) => box.left >= 0 && box.top >= 0 && box.width > 0 && box.height > 0 && box.left + box.width <= width && box.top + box.height <= height;
  return drawn.text.trim() !== '' && drawn.size > 0 && inside(drawn.box) && inside(drawn.plate.box);
}

/** Paints the plate over the drawn text, opaque: the letters leave the raster, the plate stays a shape. */
async function withoutDrawnText(image: Buffer, drawn: DrawnTextRecord): Promise<Buffer> {
  const { box, colour, radius } = drawn.plate;
  const plate = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${box.width}" height="${box.height}">` +
      `<rect width="${box.width}" height="${box.height}" rx="${radius}" ry="${radius}" fill="rgb(${colour.join(',')})"/></svg>`,
  );
  return sharp(image, sharpInputOptions).composite([{ input: plate, left: box.left, top: box.top }]).png().toBuffer();
}

type Rgba = { r: number; g: number; b: number; a: number };

const rgbaOf = (key: number): Rgba => ({ r: key >>> 24, g: (key >>> 16) & 255, b: (key >>> 8) & 255, a: key & 255 });

/**
 * At most `colours` colours for the tracing. libimagequant (sharp's palette PNG, no dithering) finds
 * the clusters; imagetracerjs's own grid sampling can seed two colours from one area and lose a flat
 * colour altogether. libvips rounds the palette up to a power of two (3 colours → 4 entries), so the
 * most used entries are kept. Each colour is then the one most of its pixels have (the mode): a cluster's
 * mean is pulled off a logo's flat colour by its anti-aliased edges.
 */
async function tracePalette(quantisedPng: Buffer, pixels: Buffer, colours: number): Promise<Rgba[]> {
  const { data: quantised } = await sharp(quantisedPng).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const counts = new Map<number, number>();
  for (let i = 0; i < quantised.length; i += 4) {
    const key = quantised.readUInt32BE(i);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const seeds = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, colours)
    .map(([key]) => rgbaOf(key));
  const modes = seeds.map(() => new Map<number, number>());
  for (let i = 0; i < pixels.length; i += 4) {
    let nearest = 0;
    let best = Infinity;
    seeds.forEach((seed, k) => {
      // Rectilinear RGBA distance, as imagetracerjs assigns pixels to the palette.
      const d = Math.abs(seed.r - pixels[i]!) + Math.abs(seed.g - pixels[i + 1]!) + Math.abs(seed.b - pixels[i + 2]!) + Math.abs(seed.a - pixels[i + 3]!);
      if (d < best) {
        best = d;
        nearest = k;
      }
    });
    const key = pixels.readUInt32BE(i);
    const mode = modes[nearest]!;
    mode.set(key, (mode.get(key) ?? 0) + 1);
  }
  return modes.flatMap((mode) => {
    let top: [number, number] | undefined;
    for (const entry of mode) if (!top || entry[1] > top[1] || (entry[1] === top[1] && entry[0] < top[0])) top = entry;
    return top ? [rgbaOf(top[0])] : [];
  });
}

export async function traceToSvg(image: Buffer, options: { colours: number; drawn?: DrawnTextRecord | null }): Promise<TracedSvg> {
  const meta = await sharp(image, sharpInputOptions).metadata();
  const width = meta.width!;
  const height = meta.height!;
  const drawn = options.drawn && fitsImage(options.drawn, width, height) ? options.drawn : null;
  const source = drawn ? await withoutDrawnText(image, drawn) : image;
  const factor = Math.min(1, maxTraceSide / Math.max(width, height));
  const traceWidth = Math.max(1, Math.round(width * factor));
  const traceHeight = Math.max(1, Math.round(height * factor));
  const resized = sharp(source, sharpInputOptions).resize(traceWidth, traceHeight, { fit: 'fill', kernel: 'lanczos3' });
  const { data } = await resized.clone().ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const palette = await tracePalette(await resized.png({ palette: true, colours: options.colours, dither: 0, effort: 10 }).toBuffer(), data, options.colours);
  const traceOptions = imageTracer.checkoptions({
    pal: palette,
    numberofcolors: palette.length,
    // One assignment round to the palette, no averaging.
    colorquantcycles: 1,
    mincolorratio: 0,
    ltres: 1,
    qtres: 1,
    // Areas under 8 pixels' outline are speckle, not shapes.
    pathomit: 8,
    rightangleenhance: true,
    blurradius: 0,
    layering: 0,
    // A hairline stroke of each shape's own colour closes the seams between neighbouring shapes.
    strokewidth: 1,
    roundcoords: 1,
    scale: width / traceWidth,
    viewbox: false,
    desc: false,
    lcpr: 0,
    qcpr: 0,
    linefilter: false,
  });
  const trace = imageTracer.imagedataToTracedata({ width: traceWidth, height: traceHeight, data: new Uint8ClampedArray(data.buffer, data.byteOffset, data.length) }, traceOptions);
  const paths: string[] = [];
  const fills = new Set<string>();
  trace.layers.forEach((layer, layerIndex) => {
    const colour = trace.palette[layerIndex]!;
    // A fully transparent colour draws nothing (a transparent export's background).
    if (colour.a === 0) return;
    layer.forEach((path, pathIndex) => {
      if (path.isholepath) return;
      paths.push(imageTracer.svgpathstring(trace, layerIndex, pathIndex, traceOptions));
      fills.add(`${colour.r},${colour.g},${colour.b},${colour.a}`);
    });
  });
  const text = drawn ? drawnTextSvg(drawn) : null;
  const svg =
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n` +
    (text ? `<defs>${text.style}</defs>\n` : '') +
    `<g>${paths.join('')}</g>\n` +
    (text ? `${text.text}\n` : '') +
    `</svg>\n`;
  return { svg, width, height, colours: fills.size, textKept: text !== null };
}
