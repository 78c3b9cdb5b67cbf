// diffusers AutoencoderKL decode path: post_quant_conv, decoder.conv_in, mid block (ResNet,
// single-head spatial self-attention, ResNet), up blocks with nearest 2x upsampling, norm, conv_out.
import { vaeDecoderArchitecture, type JsonConfig } from './modelArchitecture.ts';
import { resnetBlock } from './resnetBlock.ts';
import { spatialAttention, vaeEps } from './vaeAttention.ts';
import type { GraphBuilder, Value } from './graphBuilder.ts';

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
