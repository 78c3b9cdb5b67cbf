// The two colours of a text region: the background (the larger group of pixels) and the ink (the
// smaller), split by Otsu's threshold on luminance, so composited text can take the colours the model chose.

export type Rgb = [number, number, number];

export interface RegionColours {
  background: Rgb;
  ink: Rgb;
  /** Share of pixels on the ink side, 0–0.5. */
  inkShare: number;
}

/** Relative luminance (WCAG), 0–1, of an 8-bit sRGB colour. */
export function relativeLuminance([r, g, b]: Rgb): number {
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** WCAG contrast ratio, 1–21. */
export function contrastRatio(a: Rgb, b: Rgb): number {
  const la = relativeLuminance(a);
  const lb = relativeLuminance(b);
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

/** `pixels`: interleaved 8-bit RGB (or RGBA with channels = 4), alpha ignored. */
export function regionColours(pixels: Uint8Array, channels: 3 | 4): RegionColours {
  const n = Math.floor(pixels.length / channels);
  if (n === 0) throw new Error('empty region');
  const luma = new Uint8Array(n);
  const histogram = new Array<number>(256).fill(0);
  for (let i = 0; i < n; i++) {
    const p = i * channels;
    const y = Math.round(0.299 * pixels[p]! + 0.587 * pixels[p + 1]! + 0.114 * pixels[p + 2]!);
    luma[i] = y;
    histogram[y]!++;
  }
  const threshold = otsuThreshold(histogram, n);
  const sums = [
    [0, 0, 0, 0],
    [0, 0, 0, 0],
  ];
  for (let i = 0; i < n; i++) {
    const side = sums[luma[i]! > threshold ? 1 : 0]!;
    const p = i * channels;
    side[0]! += pixels[p]!;
    side[1]! += pixels[p + 1]!;
    side[2]! += pixels[p + 2]!;
    side[3]!++;
  }
  const mean = (s: number[]): Rgb =>
    s[3]! > 0 ? [Math.round(s[0]! / s[3]!), Math.round(s[1]! / s[3]!), Math.round(s[2]! / s[3]!)] : [0, 0, 0];
  const [dark, light] = sums as [number[], number[]];
  if (light[3] === 0 || dark[3] === 0) {
    const only = mean(light[3] ? light : dark);
    return { background: only, ink: only, inkShare: 0 };
  }
  const lightIsBackground = light[3]! >= dark[3]!;
  const background = mean(lightIsBackground ? light : dark);
  const ink = mean(lightIsBackground ? dark : light);
  return { background, ink, inkShare: (lightIsBackground ? dark[3]! : light[3]!) / n };
}

function otsuThreshold(histogram: number[], total: number): number {
  let sumAll = 0;
  for (let t = 0; t < 256; t++) sumAll += t * histogram[t]!;
  let sumBelow = 0;
  let countBelow = 0;
  let best = 0;
  let bestVariance = -1;
  for (let t = 0; t < 256; t++) {
    countBelow += histogram[t]!;
    if (countBelow === 0) continue;
    const countAbove = total - countBelow;
    if (countAbove === 0) break;
    sumBelow += t * histogram[t]!;
    const meanBelow = sumBelow / countBelow;
    const meanAbove = (sumAll - sumBelow) / countAbove;
    const variance = countBelow * countAbove * (meanBelow - meanAbove) ** 2;
    if (variance > bestVariance) {
      bestVariance = variance;
      best = t;
    }
  }
  return best;
}
