// The VAE decoder's [1, 3, H, W] output in [-1, 1] → the [H, W, 3] float image in [0, 1].

export function vaeSampleToImage(sample: Float32Array, width: number, height: number): Float32Array {
  const plane = width * height;
  if (sample.length !== 3 * plane) {
    throw new RangeError(`VAE output has ${sample.length} values, expected 3x${height}x${width}`);
  }
  const pixels = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const channel = c * plane;
    for (let i = 0; i < plane; i++) {
      const v = sample[channel + i] / 2 + 0.5;
      pixels[i * 3 + c] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
  return pixels;
}
