// diffusers AutoencoderKL decode path: post_quant_conv, decoder.conv_in, mid block (ResNet,
// single-head spatial self-attention, ResNet), up blocks with nearest 2x upsampling, norm, conv_out.
import { vaeDecoderArchitecture, type JsonConfig } from './modelArchitecture.ts';
import { resnetBlock } from './resnetBlock.ts';
import type { GraphBuilder, Value } from './graphBuilder.ts';

const vaeEps = 1e-6;

function spatialAttention(b: GraphBuilder, x: Value, prefix: string, channels: number, groups: number): Value {
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

export function buildVaeDecoderGraph(b: GraphBuilder, config: JsonConfig): void {
  const a = vaeDecoderArchitecture(config);
  const groups = a.normGroups;
  let h = b.toCompute(b.input('latent_sample', 'float32', ['batch', a.latentChannels, 'height', 'width']));
  if (a.usePostQuantConv) h = b.conv2d(h, 'post_quant_conv', { padding: 0 });
  h = b.conv2d(h, 'decoder.conv_in');
  const resnet = (x: Value, prefix: string, inChannels: number, outChannels: number) =>
    resnetBlock(b, x, prefix, { groups, eps: vaeEps, inChannels, outChannels });
  h = resnet(h, 'decoder.mid_block.resnets.0', a.midChannels, a.midChannels);
  if (a.midAttention) h = spatialAttention(b, h, 'decoder.mid_block.attentions.0', a.midChannels, groups);
  h = resnet(h, 'decoder.mid_block.resnets.1', a.midChannels, a.midChannels);
  a.up.forEach((block, i) => {
    block.resnets.forEach((r, j) => {
      h = resnet(h, `decoder.up_blocks.${i}.resnets.${j}`, r.inChannels, r.outChannels);
    });
    if (block.upsample) {
      h = b.conv2d(b.upsampleNearest(h, `decoder.up_blocks.${i}.upsamplers.0`), `decoder.up_blocks.${i}.upsamplers.0.conv`);
    }
  });
  h = b.silu(b.groupNorm(h, 'decoder.conv_norm_out', groups, vaeEps), 'decoder.conv_norm_out');
  h = b.conv2d(h, 'decoder.conv_out');
  b.output(b.toFloat32(h), 'sample', 'float32', ['batch', a.outChannels, 'image_height', 'image_width']);
}
