// Classifier-free guidance over a UNet output batched as [unconditional, conditional] (diffusers' order),
// each half holding the images of the batch in order.

/** Whether a guidance scale needs the unconditional pass at all (diffusers: only when > 1). */
export function usesClassifierFreeGuidance(guidanceScale: number): boolean {
  return guidanceScale > 1;
}

/** uncond + scale · (cond − uncond), for `output` holding the two halves one after the other. */
export function applyClassifierFreeGuidance(output: Float32Array, guidanceScale: number): Float32Array {
  const n = output.length / 2;
  const guided = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const uncond = output[i];
    guided[i] = uncond + guidanceScale * (output[n + i] - uncond);
  }
  return guided;
}

/**
 * Text embeddings for a UNet call over `images` images: each of the `batch` prompt rows ([negative,
 * prompt] with guidance, [prompt] without) repeated once per image, rows kept together, so the
 * output splits into the [unconditional, conditional] halves applyClassifierFreeGuidance expects.
 */
export function guidanceBatchEmbeddings(embeddings: Float32Array, batch: number, images: number): Float32Array {
  if (images === 1) return embeddings;
  const row = embeddings.length / batch;
  const out = new Float32Array(row * batch * images);
  for (let b = 0; b < batch; b++) {
    const source = embeddings.subarray(b * row, (b + 1) * row);
    for (let i = 0; i < images; i++) out.set(source, (b * images + i) * row);
  }
  return out;
}
