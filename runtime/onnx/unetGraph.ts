// diffusers UNet2DConditionModel (SD 1.x / 2.x family): sinusoidal time embedding + MLP, conv_in,
// down blocks (ResNet [+ Transformer2D]) collecting skips, cross-attention mid block, up blocks
// that concatenate the skips, and the output head. Batch, height and width are dynamic; each
// up-sampler resizes to its skip connection's size, as diffusers does with `upsample_size`.
import { unetArchitecture, type JsonConfig, type TransformerSpec } from './modelArchitecture.ts';
import { resnetBlock } from './resnetBlock.ts';
import type { GraphBuilder, PendingResidual, Value } from './graphBuilder.ts';

function timestepFrequencies(dim: number, shift: number): Float32Array {
  // As diffusers computes them in float32: exp(-ln(10000) * i / (half - shift)).
  const half = Math.floor(dim / 2);
  const out = new Float32Array(half);
  const logMax = Math.fround(-Math.log(10000));
  const denominator = Math.fround(half - shift);
  for (let i = 0; i < half; i++) out[i] = Math.exp(Math.fround(Math.fround(logMax * i) / denominator));
  return out;
}

/** Self- or cross-attention up to its output projection, whose bias is left to the residual add. */
function attention(b: GraphBuilder, x: Value, context: Value, prefix: string, spec: TransformerSpec, upcast: boolean) {
  const q = b.linear(x, `${prefix}.to_q`, { bias: false });
  const k = b.linear(context, `${prefix}.to_k`, { bias: false });
  const v = b.linear(context, `${prefix}.to_v`, { bias: false });
  return b.linearUnbiased(b.attentionCore(q, k, v, spec.heads, spec.headDim, prefix, undefined, upcast), `${prefix}.to_out.0`);
}

/** diffusers BasicTransformerBlock on [B, S, C] tokens. `input` is the residual stream, or the previous
 *  block's still unwritten last residual add (so that this block's first LayerNorm can take it in);
 *  returns its own last residual add unwritten, for the same reason. */
function transformerBlock(
  b: GraphBuilder,
  input: Value | PendingResidual,
  prefix: string,
  spec: TransformerSpec,
  context: Value,
  upcast: boolean,
): PendingResidual {
  let h: Value;
  let n: Value;
  if (typeof input === 'string') {
    h = input;
    n = b.layerNorm(h, `${prefix}.norm1`, 1e-5);
  } else {
    ({ normed: n, sum: h } = b.residualLayerNorm(input, `${prefix}.norm1`, 1e-5));
  }
  const selfAttention = attention(b, n, n, `${prefix}.attn1`, spec, upcast);
  ({ normed: n, sum: h } = b.residualLayerNorm({ branch: selfAttention.product, bias: selfAttention.bias, skip: h }, `${prefix}.norm2`, 1e-5));
  const crossAttention = attention(b, n, context, `${prefix}.attn2`, spec, upcast);
  ({ normed: n, sum: h } = b.residualLayerNorm({ branch: crossAttention.product, bias: crossAttention.bias, skip: h }, `${prefix}.norm3`, 1e-5));
  // GEGLU: the projection's first half is the value, the second half the gate.
  const ff = b.linearUnbiased(b.geglu(b.linearUnbiased(n, `${prefix}.ff.net.0.proj`), prefix), `${prefix}.ff.net.2`);
  return { branch: ff.product, bias: ff.bias, skip: h };
}

function transformerBlocks(b: GraphBuilder, h: Value, prefix: string, spec: TransformerSpec, context: Value, upcast: boolean): Value {
  let state: Value | PendingResidual = h;
  for (let l = 0; l < spec.layers; l++) state = transformerBlock(b, state, `${prefix}.transformer_blocks.${l}`, spec, context, upcast);
  return typeof state === 'string' ? state : b.settle(state, prefix);
}

function transformer2d(
  b: GraphBuilder,
  x: Value,
  prefix: string,
  channels: number,
  spec: TransformerSpec,
  context: Value,
  groups: number,
  linearProjection: boolean,
  upcast: boolean,
): Value {
  if (b.fusions.groupNorm) return transformer2dChannelsLast(b, x, prefix, channels, spec, context, groups, linearProjection, upcast);
  const inner = spec.heads * spec.headDim;
  let h = b.groupNorm(x, `${prefix}.norm`, groups, 1e-6);
  const toTokens = (t: Value, c: number) => b.reshape(b.transpose(t, [0, 2, 3, 1], prefix), [0, -1, c], prefix);
  if (linearProjection) h = b.linear(toTokens(h, channels), `${prefix}.proj_in`);
  else h = toTokens(b.conv2d(h, `${prefix}.proj_in`, { padding: 0 }), inner);
  h = transformerBlocks(b, h, prefix, spec, context, upcast);
  const nhwc = (t: Value, c: number) =>
    b.op('Reshape', [t, b.concat([b.shapeOf(x, 0, 1, prefix), b.shapeOf(x, 2, 4, prefix), b.int64s([c])], 0, prefix)], {}, prefix);
  if (linearProjection) {
    h = b.transpose(nhwc(b.linear(h, `${prefix}.proj_out`), channels), [0, 3, 1, 2], prefix);
  } else {
    h = b.conv2d(b.transpose(nhwc(h, inner), [0, 3, 1, 2], prefix), `${prefix}.proj_out`, { padding: 0 });
  }
  return b.add(h, x, prefix);
}

/** Transformer2DModel with the groupNorm fusion: the block's input goes channels-last once, its
 *  GroupNorm runs there and the tokens are a plain [B, H*W, C] view of it (no Transpose); the output
 *  comes back through one Reshape to the input's own channels-last shape (its only Shape node). */
function transformer2dChannelsLast(
  b: GraphBuilder,
  x: Value,
  prefix: string,
  channels: number,
  spec: TransformerSpec,
  context: Value,
  groups: number,
  linearProjection: boolean,
  upcast: boolean,
): Value {
  const inner = spec.heads * spec.headDim;
  const xNhwc = b.toChannelsLast(x, prefix);
  const normed = b.groupNormChannelsLast(xNhwc, `${prefix}.norm`, groups, 1e-6, false);
  const tokens = (t: Value, c: number) => b.reshape(t, [0, -1, c], prefix);
  let h = linearProjection
    ? b.linear(tokens(normed, channels), `${prefix}.proj_in`)
    : tokens(b.toChannelsLast(b.conv2d(b.toChannelsFirst(normed, prefix), `${prefix}.proj_in`, { padding: 0 }), prefix), inner);
  h = transformerBlocks(b, h, prefix, spec, context, upcast);
  const xShape = b.shapeOf(xNhwc, undefined, undefined, prefix);
  if (linearProjection) {
    const out = b.linearUnbiased(h, `${prefix}.proj_out`);
    const sum = b.settle({ branch: out.product, bias: out.bias, skip: tokens(xNhwc, channels) }, prefix);
    return b.toChannelsFirst(b.op('Reshape', [sum, xShape], {}, prefix), prefix);
  }
  const innerShape = inner === channels ? xShape : b.concat([b.shapeOf(xNhwc, 0, 3, prefix), b.int64s([inner])], 0, prefix);
  h = b.toChannelsFirst(b.op('Reshape', [h, innerShape], {}, prefix), prefix);
  return b.add(b.conv2d(h, `${prefix}.proj_out`, { padding: 0 }), x, prefix);
}

export function buildUnetGraph(b: GraphBuilder, config: JsonConfig): void {
  const a = unetArchitecture(config);
  const crossDim = a.mid.transformer?.crossAttentionDim ?? a.down.find((d) => d.transformer)?.transformer?.crossAttentionDim ?? 1024;
  const sampleIn = b.input('sample', 'float32', ['batch', a.inChannels, 'height', 'width']);
  const timestep = b.input('timestep', 'float32', ['batch']);
  const contextIn = b.input('encoder_hidden_states', 'float32', ['batch', 'sequence', crossDim]);
  const context = b.toCompute(contextIn);

  // Time embedding, computed in float32 and cast like diffusers' `t_emb.to(dtype=sample.dtype)`.
  const freqs = b.constant('float32', [1, a.timeProjDim / 2], timestepFrequencies(a.timeProjDim, a.freqShift), 'time_freqs');
  const args = b.mul(b.reshape(timestep, [-1, 1], 'time_proj'), freqs, 'time_proj');
  const sin = b.op('Sin', [args], {}, 'time_proj');
  const cos = b.op('Cos', [args], {}, 'time_proj');
  const tProj = b.toCompute(b.concat(a.flipSinToCos ? [cos, sin] : [sin, cos], 1, 'time_proj'));
  const temb = b.linear(b.silu(b.linear(tProj, 'time_embedding.linear_1', { rank2: true }), 'time_embedding'), 'time_embedding.linear_2', {
    rank2: true,
  });
  const tembAct = b.silu(temb, 'time_embedding');

  const groups = a.normGroups;
  const resnet = (x: Value, prefix: string, inChannels: number, outChannels: number) =>
    resnetBlock(b, x, prefix, { groups, eps: a.normEps, inChannels, outChannels, tembAct });

  let h = b.conv2d(b.toCompute(sampleIn), 'conv_in');
  const skips: Value[] = [h];
  a.down.forEach((block, i) => {
    block.resnets.forEach((r, j) => {
      h = resnet(h, `down_blocks.${i}.resnets.${j}`, r.inChannels, r.outChannels);
      if (block.transformer) {
        h = transformer2d(b, h, `down_blocks.${i}.attentions.${j}`, r.outChannels, block.transformer, context, groups, a.useLinearProjection, a.upcastAttention);
      }
      skips.push(h);
    });
    if (block.sampler !== null) {
      const prefix = `down_blocks.${i}.downsamplers.0.conv`;
      if (a.downsamplePadding === 0) {
        // diffusers pads right and bottom by one before an unpadded stride-2 conv.
        h = b.op('Pad', [h, b.int64s([0, 0, 0, 0, 0, 0, 1, 1])], { mode: 'constant' }, prefix);
      }
      h = b.conv2d(h, prefix, { stride: 2, padding: a.downsamplePadding });
      skips.push(h);
    }
  });

  h = resnet(h, 'mid_block.resnets.0', a.mid.channels, a.mid.channels);
  if (a.mid.transformer) {
    h = transformer2d(b, h, 'mid_block.attentions.0', a.mid.channels, a.mid.transformer, context, groups, a.useLinearProjection, a.upcastAttention);
    h = resnet(h, 'mid_block.resnets.1', a.mid.channels, a.mid.channels);
  }

  a.up.forEach((block, i) => {
    const blockSkips = skips.splice(skips.length - block.resnets.length);
    block.resnets.forEach((r, j) => {
      h = b.concat([h, blockSkips.pop()!], 1, `up_blocks.${i}`);
      h = resnet(h, `up_blocks.${i}.resnets.${j}`, r.inChannels, r.outChannels);
      if (block.transformer) {
        h = transformer2d(b, h, `up_blocks.${i}.attentions.${j}`, r.outChannels, block.transformer, context, groups, a.useLinearProjection, a.upcastAttention);
      }
    });
    if (block.sampler !== null) {
      h = b.upsampleNearest(h, `up_blocks.${i}.upsamplers.0`, skips[skips.length - 1]);
      h = b.conv2d(h, `up_blocks.${i}.upsamplers.0.conv`);
    }
  });

  h = b.groupNormAct(h, 'conv_norm_out', groups, a.normEps, true);
  h = b.conv2d(h, 'conv_out');
  b.output(b.toFloat32(h), 'out_sample', 'float32', ['batch', a.outChannels, 'height', 'width']);
}
