// The diffusers / transformers tensor names and shapes a component's config implies: what a
// weights file must hold for the graph to be built, and what a benchmark fills with random numbers.
// Names are the current libraries' spelling; componentTensorNames maps older spellings onto them.
import {
  textEncoderArchitecture,
  unetArchitecture,
  vaeDecoderArchitecture,
  vaeEncoderArchitecture,
  type ComponentName,
  type JsonConfig,
  type TransformerSpec,
} from './modelArchitecture.ts';

export interface WeightSpec {
  name: string;
  shape: number[];
}

type Push = (name: string, shape: number[]) => void;

function linear(push: Push, prefix: string, out: number, inp: number, bias = true): void {
  push(`${prefix}.weight`, [out, inp]);
  if (bias) push(`${prefix}.bias`, [out]);
}
function norm(push: Push, prefix: string, channels: number): void {
  push(`${prefix}.weight`, [channels]);
  push(`${prefix}.bias`, [channels]);
}
function conv(push: Push, prefix: string, out: number, inp: number, kernel: number): void {
  push(`${prefix}.weight`, [out, inp, kernel, kernel]);
  push(`${prefix}.bias`, [out]);
}

function resnet(push: Push, prefix: string, inp: number, out: number, temb: number | null): void {
  norm(push, `${prefix}.norm1`, inp);
  conv(push, `${prefix}.conv1`, out, inp, 3);
  if (temb !== null) linear(push, `${prefix}.time_emb_proj`, out, temb);
  norm(push, `${prefix}.norm2`, out);
  conv(push, `${prefix}.conv2`, out, out, 3);
  if (inp !== out) conv(push, `${prefix}.conv_shortcut`, out, inp, 1);
}

function transformer2d(push: Push, prefix: string, channels: number, spec: TransformerSpec, linearProjection: boolean): void {
  const inner = spec.heads * spec.headDim;
  norm(push, `${prefix}.norm`, channels);
  if (linearProjection) linear(push, `${prefix}.proj_in`, inner, channels);
  else conv(push, `${prefix}.proj_in`, inner, channels, 1);
  for (let l = 0; l < spec.layers; l++) {
    const block = `${prefix}.transformer_blocks.${l}`;
    norm(push, `${block}.norm1`, inner);
    linear(push, `${block}.attn1.to_q`, inner, inner, false);
    linear(push, `${block}.attn1.to_k`, inner, inner, false);
    linear(push, `${block}.attn1.to_v`, inner, inner, false);
    linear(push, `${block}.attn1.to_out.0`, inner, inner);
    norm(push, `${block}.norm2`, inner);
    linear(push, `${block}.attn2.to_q`, inner, inner, false);
    linear(push, `${block}.attn2.to_k`, inner, spec.crossAttentionDim, false);
    linear(push, `${block}.attn2.to_v`, inner, spec.crossAttentionDim, false);
    linear(push, `${block}.attn2.to_out.0`, inner, inner);
    norm(push, `${block}.norm3`, inner);
    linear(push, `${block}.ff.net.0.proj`, inner * 8, inner);
    linear(push, `${block}.ff.net.2`, inner, inner * 4);
  }
  if (linearProjection) linear(push, `${prefix}.proj_out`, channels, inner);
  else conv(push, `${prefix}.proj_out`, channels, inner, 1);
}

function textEncoderWeights(config: JsonConfig, push: Push): void {
  const a = textEncoderArchitecture(config);
  push('embeddings.token_embedding.weight', [a.vocabSize, a.hidden]);
  push('embeddings.position_embedding.weight', [a.maxPositions, a.hidden]);
  for (let i = 0; i < a.layers; i++) {
    const p = `encoder.layers.${i}`;
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) linear(push, `${p}.self_attn.${proj}`, a.hidden, a.hidden);
    norm(push, `${p}.layer_norm1`, a.hidden);
    linear(push, `${p}.mlp.fc1`, a.intermediate, a.hidden);
    linear(push, `${p}.mlp.fc2`, a.hidden, a.intermediate);
    norm(push, `${p}.layer_norm2`, a.hidden);
  }
  norm(push, 'final_layer_norm', a.hidden);
}

function unetWeights(config: JsonConfig, push: Push): void {
  const a = unetArchitecture(config);
  conv(push, 'conv_in', a.blockOut[0]!, a.inChannels, a.convInKernel);
  linear(push, 'time_embedding.linear_1', a.timeEmbedDim, a.timeProjDim);
  linear(push, 'time_embedding.linear_2', a.timeEmbedDim, a.timeEmbedDim);
  a.down.forEach((block, i) => {
    block.resnets.forEach((r, j) => {
      resnet(push, `down_blocks.${i}.resnets.${j}`, r.inChannels, r.outChannels, a.timeEmbedDim);
      if (block.transformer) {
        transformer2d(push, `down_blocks.${i}.attentions.${j}`, r.outChannels, block.transformer, a.useLinearProjection);
      }
    });
    if (block.sampler !== null) conv(push, `down_blocks.${i}.downsamplers.0.conv`, block.sampler, block.sampler, 3);
  });
  resnet(push, 'mid_block.resnets.0', a.mid.channels, a.mid.channels, a.timeEmbedDim);
  if (a.mid.transformer) {
    transformer2d(push, 'mid_block.attentions.0', a.mid.channels, a.mid.transformer, a.useLinearProjection);
    resnet(push, 'mid_block.resnets.1', a.mid.channels, a.mid.channels, a.timeEmbedDim);
  }
  a.up.forEach((block, i) => {
    block.resnets.forEach((r, j) => {
      resnet(push, `up_blocks.${i}.resnets.${j}`, r.inChannels, r.outChannels, a.timeEmbedDim);
      if (block.transformer) {
        transformer2d(push, `up_blocks.${i}.attentions.${j}`, r.outChannels, block.transformer, a.useLinearProjection);
      }
    });
    if (block.sampler !== null) conv(push, `up_blocks.${i}.upsamplers.0.conv`, block.sampler, block.sampler, 3);
  });
  norm(push, 'conv_norm_out', a.blockOut[0]!);
  conv(push, 'conv_out', a.outChannels, a.blockOut[0]!, a.convOutKernel);
}

function vaeMidAttention(push: Push, p: string, channels: number): void {
  norm(push, `${p}.group_norm`, channels);
  for (const proj of ['to_q', 'to_k', 'to_v', 'to_out.0']) linear(push, `${p}.${proj}`, channels, channels);
}

function vaeEncoderWeights(config: JsonConfig, push: Push): void {
  const a = vaeEncoderArchitecture(config);
  conv(push, 'encoder.conv_in', a.firstChannels, a.inChannels, 3);
  a.down.forEach((block, i) => {
    block.resnets.forEach((r, j) => resnet(push, `encoder.down_blocks.${i}.resnets.${j}`, r.inChannels, r.outChannels, null));
    if (block.downsample) {
      const c = block.resnets[block.resnets.length - 1]!.outChannels;
      conv(push, `encoder.down_blocks.${i}.downsamplers.0.conv`, c, c, 3);
    }
  });
  resnet(push, 'encoder.mid_block.resnets.0', a.midChannels, a.midChannels, null);
  if (a.midAttention) vaeMidAttention(push, 'encoder.mid_block.attentions.0', a.midChannels);
  resnet(push, 'encoder.mid_block.resnets.1', a.midChannels, a.midChannels, null);
  norm(push, 'encoder.conv_norm_out', a.midChannels);
  conv(push, 'encoder.conv_out', 2 * a.latentChannels, a.midChannels, 3);
  if (a.useQuantConv) conv(push, 'quant_conv', 2 * a.latentChannels, 2 * a.latentChannels, 1);
}

function vaeDecoderWeights(config: JsonConfig, push: Push): void {
  const a = vaeDecoderArchitecture(config);
  if (a.usePostQuantConv) conv(push, 'post_quant_conv', a.latentChannels, a.latentChannels, 1);
  conv(push, 'decoder.conv_in', a.midChannels, a.latentChannels, 3);
  resnet(push, 'decoder.mid_block.resnets.0', a.midChannels, a.midChannels, null);
  if (a.midAttention) vaeMidAttention(push, 'decoder.mid_block.attentions.0', a.midChannels);
  resnet(push, 'decoder.mid_block.resnets.1', a.midChannels, a.midChannels, null);
  a.up.forEach((block, i) => {
    block.resnets.forEach((r, j) => resnet(push, `decoder.up_blocks.${i}.resnets.${j}`, r.inChannels, r.outChannels, null));
    if (block.upsample) {
      const c = block.resnets[0]!.outChannels;
      conv(push, `decoder.up_blocks.${i}.upsamplers.0.conv`, c, c, 3);
    }
  });
  norm(push, 'decoder.conv_norm_out', a.finalChannels);
  conv(push, 'decoder.conv_out', a.outChannels, a.finalChannels, 3);
}

/** Tensor names (current diffusers/transformers spelling) and shapes the component's config implies. */
export function listComponentWeights(component: ComponentName, config: JsonConfig): WeightSpec[] {
  const out: WeightSpec[] = [];
  const push: Push = (name, shape) => out.push({ name, shape });
  if (component === 'text_encoder') textEncoderWeights(config, push);
  else if (component === 'unet') unetWeights(config, push);
  else if (component === 'vae_encoder') vaeEncoderWeights(config, push);
  else vaeDecoderWeights(config, push);
  return out;
}

const legacyVaeAttention: Record<string, string> = {
  to_q: 'query',
  to_k: 'key',
  to_v: 'value',
  'to_out.0': 'proj_attn',
};

/** The spellings a tensor may have in files written by older library versions, newest first. */
export function tensorNameCandidates(component: ComponentName, name: string): string[] {
  if (component === 'text_encoder') return [name, `text_model.${name}`];
  if (component === 'vae_decoder' || component === 'vae_encoder') {
    const match = /^(.*\.mid_block\.attentions\.\d+)\.(to_q|to_k|to_v|to_out\.0)\.(weight|bias)$/.exec(name);
    if (match) return [name, `${match[1]}.${legacyVaeAttention[match[2]!]}.${match[3]}`];
  }
  return [name];
}
