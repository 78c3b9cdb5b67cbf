// diffusers ResnetBlock2D (time_embedding_norm "default", output_scale_factor 1), shared by the UNet
// (with a time embedding) and the VAE decoder (without).
import type { GraphBuilder, Value } from './graphBuilder.ts';

export interface ResnetOptions {
  groups: number;
  eps: number;
  inChannels: number;
  outChannels: number;
  /** silu(time embedding), [B, temb]; absent in the VAE. */
  tembAct?: Value;
}

export function resnetBlock(b: GraphBuilder, x: Value, prefix: string, o: ResnetOptions): Value {
  let h = b.groupNormAct(x, `${prefix}.norm1`, o.groups, o.eps, true);
  h = b.conv2d(h, `${prefix}.conv1`);
  if (o.tembAct && b.fusions.skipGroupNorm) {
    // The [B, C] projection is SkipGroupNorm's broadcast skip, its bias the kernel's bias input.
    const t = b.linear(o.tembAct, `${prefix}.time_emb_proj`, { bias: false, rank2: true });
    const skip = { value: t, bias: b.weight(`${prefix}.time_emb_proj.bias`) };
    h = b.toChannelsFirst(b.groupNormChannelsLast(b.toChannelsLast(h, prefix), `${prefix}.norm2`, o.groups, o.eps, true, skip), prefix);
  } else {
    if (o.tembAct) {
      const t = b.linear(o.tembAct, `${prefix}.time_emb_proj`, { rank2: true });
      h = b.add(h, b.reshape(t, [0, o.outChannels, 1, 1], prefix), prefix);
    }
    h = b.groupNormAct(h, `${prefix}.norm2`, o.groups, o.eps, true);
  }
  h = b.conv2d(h, `${prefix}.conv2`);
  const shortcut = o.inChannels !== o.outChannels ? b.conv2d(x, `${prefix}.conv_shortcut`, { padding: 0 }) : x;
  return b.add(shortcut, h, prefix);
}
