// diffusers AutoencoderKL encode path: encoder.conv_in, down blocks (ResNets, then a stride-2 conv
// on the input padded by one row and column at the bottom and right), mid block (ResNet, spatial
// self-attention, ResNet), norm, conv_out to mean and log-variance, quant_conv. The outputs are the
// posterior's parameters as DiagonalGaussianDistribution holds them (log-variance clamped to
// [-30, 20]); the pipeline draws the sample itself, from its own noise.
import { vaeEncoderArchitecture, type JsonConfig } from './modelArchitecture.ts';
import { resnetBlock } from './resnetBlock.ts';
import { spatialAttention, vaeEps } from './vaeAttention.ts';
import type { GraphBuilder, Value } from './graphBuilder.ts';

function downsample(b: GraphBuilder, x: Value, prefix: string): Value {
  const weightName = `${prefix}.weight`;
  const [, , kh, kw] = b.weightShape(weightName) as [number, number, number, number];
  // ONNX pads are [top, left, bottom, right]; diffusers pads (0, 1, 0, 1) = right and bottom only.
  return b.op(
    'Conv',
    [x, b.weight(weightName), b.weight(`${prefix}.bias`)],
    { kernel_shape: [kh, kw], strides: [2, 2], pads: [0, 0, 1, 1] },
    prefix,
  );
}

export function buildVaeEncoderGraph(b: GraphBuilder, config: JsonConfig): void {
  const a = vaeEncoderArchitecture(config);
  const groups = a.normGroups;
  const resnet = (x: Value, prefix: string, inChannels: number, outChannels: number) =>
    resnetBlock(b, x, prefix, { groups, eps: vaeEps, inChannels, outChannels });
  let h = b.toCompute(b.input('sample', 'float32', ['batch', a.inChannels, 'image_height', 'image_width']));
  h = b.conv2d(h, 'encoder.conv_in');
  a.down.forEach((block, i) => {
    block.resnets.forEach((r, j) => {
      h = resnet(h, `encoder.down_blocks.${i}.resnets.${j}`, r.inChannels, r.outChannels);
    });
    if (block.downsample) h = downsample(b, h, `encoder.down_blocks.${i}.downsamplers.0.conv`);
  });
  h = resnet(h, 'encoder.mid_block.resnets.0', a.midChannels, a.midChannels);
  if (a.midAttention) h = spatialAttention(b, h, 'encoder.mid_block.attentions.0', a.midChannels, groups);
  h = resnet(h, 'encoder.mid_block.resnets.1', a.midChannels, a.midChannels);
  h = b.silu(b.groupNorm(h, 'encoder.conv_norm_out', groups, vaeEps), 'encoder.conv_norm_out');
  h = b.conv2d(h, 'encoder.conv_out');
  if (a.useQuantConv) h = b.conv2d(h, 'quant_conv', { padding: 0 });
  const moments = b.toFloat32(h);
  const c = a.latentChannels;
  const half = (start: number, end: number, hint: string) =>
    b.op('Slice', [moments, b.int64s([start]), b.int64s([end]), b.int64s([1])], {}, hint);
  const mean = half(0, c, 'mean');
  const lo = b.constant('float32', [], Float32Array.from([-30]), 'logvar_min');
  const hi = b.constant('float32', [], Float32Array.from([20]), 'logvar_max');
  const logvar = b.op('Clip', [half(c, 2 * c, 'logvar'), lo, hi], {}, 'logvar');
  const dims = ['batch', c, 'height', 'width'];
  b.output(mean, 'mean', 'float32', dims);
  b.output(logvar, 'logvar', 'float32', dims);
}
