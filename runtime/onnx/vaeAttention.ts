// The VAE's mid-block self-attention (diffusers Attention with one head over all spatial positions,
// group norm first, residual added), shared by the encoder and the decoder graphs.
import type { GraphBuilder, Value } from './graphBuilder.ts';

export const vaeEps = 1e-6;

export function spatialAttention(b: GraphBuilder, x: Value, prefix: string, channels: number, groups: number): Value {
  const n = b.groupNorm(x, `${prefix}.group_norm`, groups, vaeEps);
  const tokens = b.transpose(b.reshape(n, [0, channels, -1], prefix), [0, 2, 1], prefix);
  const q = b.linear(tokens, `${prefix}.to_q`);
  const k = b.linear(tokens, `${prefix}.to_k`);
  const v = b.linear(tokens, `${prefix}.to_v`);
  // diffusers upcasts this softmax (upcast_softmax); float32 attention keeps float16 graphs safe here.
  const out = b.linear(b.attentionCore(q, k, v, 1, channels, prefix, undefined, true), `${prefix}.to_out.0`);
  const back = b.op('Reshape', [b.transpose(out, [0, 2, 1], prefix), b.shapeOf(x, undefined, undefined, prefix)], {}, prefix);
  return b.add(back, x, prefix);
}
