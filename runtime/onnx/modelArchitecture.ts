// What a component's config.json implies about its layers, resolved once the way diffusers and
// transformers read those configs (lists vs. scalars, reversed lists for the up path, heads taken
// from `attention_head_dim` when `num_attention_heads` is absent). Shared by the graph builders and
// by listComponentWeights, so the weights a graph asks for and the ones we validate are the same.

export type ComponentName = 'text_encoder' | 'unet' | 'vae_decoder' | 'vae_encoder';
export type JsonConfig = Record<string, unknown>;

export class UnsupportedModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedModelError';
  }
}

function num(config: JsonConfig, key: string, fallback?: number): number {
  const value = config[key] ?? fallback;
  if (typeof value !== 'number') throw new UnsupportedModelError(`config.json: "${key}" must be a number`);
  return value;
}

function perBlock(config: JsonConfig, key: string, blocks: number, fallback?: number | number[] | null): number[] {
  const value = config[key] ?? fallback;
  if (typeof value === 'number') return Array.from({ length: blocks }, () => value);
  if (Array.isArray(value) && value.length === blocks && value.every((v) => typeof v === 'number')) return value as number[];
  throw new UnsupportedModelError(`config.json: "${key}" must be a number or a list of ${blocks} numbers`);
}

function requireAbsentOrEqual(config: JsonConfig, key: string, allowed: unknown[]): void {
  const value = config[key] ?? null;
  if (!allowed.some((a) => a === value)) {
    throw new UnsupportedModelError(
      `config.json: ${key}=${JSON.stringify(value)} is not supported (Stable Diffusion 1.x/2.x UNets only)`,
    );
  }
}

// ---------- text encoder (transformers CLIPTextModel) ----------

export interface TextEncoderArchitecture {
  vocabSize: number;
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  maxPositions: number;
  eps: number;
  activation: 'gelu' | 'quick_gelu';
}

export function textEncoderArchitecture(config: JsonConfig): TextEncoderArchitecture {
  const act = config.hidden_act ?? 'quick_gelu';
  if (act !== 'gelu' && act !== 'quick_gelu') {
    throw new UnsupportedModelError(`text_encoder/config.json: hidden_act "${String(act)}" is not supported`);
  }
  const hidden = num(config, 'hidden_size');
  const heads = num(config, 'num_attention_heads');
  if (hidden % heads) throw new UnsupportedModelError('text_encoder/config.json: hidden_size is not divisible by heads');
  return {
    vocabSize: num(config, 'vocab_size'),
    hidden,
    intermediate: num(config, 'intermediate_size'),
    layers: num(config, 'num_hidden_layers'),
    heads,
    maxPositions: num(config, 'max_position_embeddings', 77),
    eps: num(config, 'layer_norm_eps', 1e-5),
    activation: act,
  };
}

// ---------- UNet (diffusers UNet2DConditionModel, SD 1.x / 2.x family) ----------

export interface TransformerSpec {
  heads: number;
  headDim: number;
  layers: number;
  crossAttentionDim: number;
}

export interface UnetResnetSpec {
  inChannels: number;
  outChannels: number;
}

export interface UnetBlockSpec {
  resnets: UnetResnetSpec[];
  /** Null for blocks without attention (DownBlock2D / UpBlock2D). */
  transformer: TransformerSpec | null;
  /** Channels of the down/up sampler, when the block has one. */
  sampler: number | null;
}

export interface UnetArchitecture {
  inChannels: number;
  outChannels: number;
  blockOut: number[];
  timeProjDim: number;
  timeEmbedDim: number;
  flipSinToCos: boolean;
  freqShift: number;
  normGroups: number;
  normEps: number;
  useLinearProjection: boolean;
  /** Attention in float32 inside float16 graphs (SD 2.x 768-v models set it). */
  upcastAttention: boolean;
  downsamplePadding: number;
  convInKernel: number;
  convOutKernel: number;
  down: UnetBlockSpec[];
  mid: { channels: number; transformer: TransformerSpec | null };
  up: UnetBlockSpec[];
}

export function unetArchitecture(config: JsonConfig): UnetArchitecture {
  requireAbsentOrEqual(config, 'act_fn', ['silu', null]);
  requireAbsentOrEqual(config, 'class_embed_type', [null]);
  requireAbsentOrEqual(config, 'addition_embed_type', [null]);
  requireAbsentOrEqual(config, 'encoder_hid_dim_type', [null]);
  requireAbsentOrEqual(config, 'time_embedding_type', ['positional', null]);
  requireAbsentOrEqual(config, 'time_embedding_dim', [null]);
  requireAbsentOrEqual(config, 'time_embedding_act_fn', [null]);
  requireAbsentOrEqual(config, 'timestep_post_act', [null]);
  requireAbsentOrEqual(config, 'time_cond_proj_dim', [null]);
  requireAbsentOrEqual(config, 'resnet_time_scale_shift', ['default', null]);
  requireAbsentOrEqual(config, 'resnet_skip_time_act', [false, null]);
  requireAbsentOrEqual(config, 'resnet_out_scale_factor', [1, null]);
  requireAbsentOrEqual(config, 'mid_block_scale_factor', [1, null]);
  requireAbsentOrEqual(config, 'dual_cross_attention', [false, null]);
  requireAbsentOrEqual(config, 'only_cross_attention', [false, null]);
  requireAbsentOrEqual(config, 'center_input_sample', [false, null]);
  requireAbsentOrEqual(config, 'attention_type', ['default', null]);
  requireAbsentOrEqual(config, 'cross_attention_norm', [null]);
  requireAbsentOrEqual(config, 'num_class_embeds', [null]);
  requireAbsentOrEqual(config, 'mid_block_type', ['UNetMidBlock2DCrossAttn', null]);
  if ('mid_block_type' in config && config.mid_block_type === null) {
    // An explicit null means "no mid block" to diffusers, which no SD 1.x/2.x model uses.
    throw new UnsupportedModelError('config.json: mid_block_type=null (a UNet without a mid block) is not supported');
  }

  const blockOut = config.block_out_channels;
  if (!Array.isArray(blockOut) || !blockOut.every((v) => typeof v === 'number')) {
    throw new UnsupportedModelError('unet/config.json: block_out_channels must be a list of numbers');
  }
  const n = blockOut.length;
  const downTypes = config.down_block_types as string[];
  const upTypes = config.up_block_types as string[];
  if (!Array.isArray(downTypes) || downTypes.length !== n || !Array.isArray(upTypes) || upTypes.length !== n) {
    throw new UnsupportedModelError('unet/config.json: down_block_types and up_block_types must match block_out_channels');
  }
  for (const t of downTypes) {
    if (t !== 'CrossAttnDownBlock2D' && t !== 'DownBlock2D') throw new UnsupportedModelError(`unet/config.json: block type ${t} is not supported`);
  }
  for (const t of upTypes) {
    if (t !== 'CrossAttnUpBlock2D' && t !== 'UpBlock2D') throw new UnsupportedModelError(`unet/config.json: block type ${t} is not supported`);
  }
  // diffusers names the head count `attention_head_dim` in SD 1.x/2.x configs and reads it as heads.
  const heads = perBlock(config, 'num_attention_heads', n, (config.attention_head_dim as number | number[] | undefined) ?? 8);
  const layersPerBlock = perBlock(config, 'layers_per_block', n, 2);
  const crossDims = perBlock(config, 'cross_attention_dim', n, 1280);
  const transformerLayers = perBlock(config, 'transformer_layers_per_block', n, 1);
  const reverseTransformerLayers =
    config.reverse_transformer_layers_per_block == null
      ? [...transformerLayers].reverse()
      : perBlock(config, 'reverse_transformer_layers_per_block', n);
  const normGroups = num(config, 'norm_num_groups', 32);
  const timeProjDim = blockOut[0]!;

  const transformer = (channels: number, h: number, layers: number, cross: number): TransformerSpec => {
    if (channels % h) throw new UnsupportedModelError(`unet/config.json: ${channels} channels do not split into ${h} heads`);
    return { heads: h, headDim: channels / h, layers, crossAttentionDim: cross };
  };

  const down: UnetBlockSpec[] = [];
  let outputChannel = blockOut[0]!;
  for (let i = 0; i < n; i++) {
    const inputChannel = outputChannel;
    outputChannel = blockOut[i]!;
    const isFinal = i === n - 1;
    const resnets = Array.from({ length: layersPerBlock[i]! }, (_, j) => ({
      inChannels: j === 0 ? inputChannel : outputChannel,
      outChannels: outputChannel,
    }));
    down.push({
      resnets,
      transformer:
        downTypes[i] === 'CrossAttnDownBlock2D' ? transformer(outputChannel, heads[i]!, transformerLayers[i]!, crossDims[i]!) : null,
      sampler: isFinal ? null : outputChannel,
    });
  }

  const midChannels = blockOut[n - 1]!;
  const mid = {
    channels: midChannels,
    transformer: transformer(midChannels, heads[n - 1]!, transformerLayers[n - 1]!, crossDims[n - 1]!) as TransformerSpec | null,
  };

  const reversedOut = [...blockOut].reverse();
  const reversedHeads = [...heads].reverse();
  const reversedLayers = [...layersPerBlock].reverse();
  const reversedCross = [...crossDims].reverse();
  const up: UnetBlockSpec[] = [];
  outputChannel = reversedOut[0]!;
  for (let i = 0; i < n; i++) {
    const isFinal = i === n - 1;
    const prevOutputChannel = outputChannel;
    outputChannel = reversedOut[i]!;
    const inputChannel = reversedOut[Math.min(i + 1, n - 1)]!;
    const numLayers = reversedLayers[i]! + 1;
    const resnets = Array.from({ length: numLayers }, (_, j) => {
      const skip = j === numLayers - 1 ? inputChannel : outputChannel;
      const resIn = j === 0 ? prevOutputChannel : outputChannel;
      return { inChannels: resIn + skip, outChannels: outputChannel };
    });
    up.push({
      resnets,
      transformer:
        upTypes[i] === 'CrossAttnUpBlock2D'
          ? transformer(outputChannel, reversedHeads[i]!, reverseTransformerLayers[i]!, reversedCross[i]!)
          : null,
      sampler: isFinal ? null : outputChannel,
    });
  }

  const convInKernel = num(config, 'conv_in_kernel', 3);
  const convOutKernel = num(config, 'conv_out_kernel', 3);
  return {
    inChannels: num(config, 'in_channels', 4),
    outChannels: num(config, 'out_channels', 4),
    blockOut: blockOut as number[],
    timeProjDim,
    timeEmbedDim: timeProjDim * 4,
    flipSinToCos: (config.flip_sin_to_cos ?? true) === true,
    freqShift: num(config, 'freq_shift', 0),
    normGroups,
    normEps: num(config, 'norm_eps', 1e-5),
    useLinearProjection: config.use_linear_projection === true,
    upcastAttention: config.upcast_attention === true,
    downsamplePadding: num(config, 'downsample_padding', 1),
    convInKernel,
    convOutKernel,
    down,
    mid,
    up,
  };
}

// ---------- VAE decoder (diffusers AutoencoderKL.decoder + post_quant_conv) ----------

export interface VaeDecoderArchitecture {
  latentChannels: number;
  outChannels: number;
  normGroups: number;
  usePostQuantConv: boolean;
  midAttention: boolean;
  midChannels: number;
  up: { resnets: UnetResnetSpec[]; upsample: boolean }[];
  finalChannels: number;
}

export function vaeDecoderArchitecture(config: JsonConfig): VaeDecoderArchitecture {
  requireAbsentOrEqual(config, 'act_fn', ['silu', null]);
  const blockOut = config.block_out_channels as number[];
  if (!Array.isArray(blockOut) || !blockOut.every((v) => typeof v === 'number')) {
    throw new UnsupportedModelError('vae/config.json: block_out_channels must be a list of numbers');
  }
  const upTypes = (config.up_block_types as string[] | undefined) ?? blockOut.map(() => 'UpDecoderBlock2D');
  if (upTypes.length !== blockOut.length || upTypes.some((t) => t !== 'UpDecoderBlock2D')) {
    throw new UnsupportedModelError('vae/config.json: only UpDecoderBlock2D decoders are supported');
  }
  const layersPerBlock = num(config, 'layers_per_block', 1);
  const reversed = [...blockOut].reverse();
  const up: VaeDecoderArchitecture['up'] = [];
  let outputChannel = reversed[0]!;
  for (let i = 0; i < reversed.length; i++) {
    const prevOutputChannel = outputChannel;
    outputChannel = reversed[i]!;
    const resnets = Array.from({ length: layersPerBlock + 1 }, (_, j) => ({
      inChannels: j === 0 ? prevOutputChannel : outputChannel,
      outChannels: outputChannel,
    }));
    up.push({ resnets, upsample: i !== reversed.length - 1 });
  }
  return {
    latentChannels: num(config, 'latent_channels', 4),
    outChannels: num(config, 'out_channels', 3),
    normGroups: num(config, 'norm_num_groups', 32),
    usePostQuantConv: config.use_post_quant_conv !== false,
    midAttention: config.mid_block_add_attention !== false,
    midChannels: reversed[0]!,
    up,
    finalChannels: blockOut[0]!,
  };
}

// ---------- VAE encoder (diffusers AutoencoderKL.encoder + quant_conv) ----------

export interface VaeEncoderArchitecture {
  inChannels: number;
  latentChannels: number;
  normGroups: number;
  useQuantConv: boolean;
  midAttention: boolean;
  midChannels: number;
  firstChannels: number;
  /** DownEncoderBlock2D: resnets, then a stride-2 conv (padded right and bottom only) except in the last block. */
  down: { resnets: UnetResnetSpec[]; downsample: boolean }[];
}

export function vaeEncoderArchitecture(config: JsonConfig): VaeEncoderArchitecture {
  requireAbsentOrEqual(config, 'act_fn', ['silu', null]);
  const blockOut = config.block_out_channels as number[];
  if (!Array.isArray(blockOut) || !blockOut.every((v) => typeof v === 'number')) {
    throw new UnsupportedModelError('vae/config.json: block_out_channels must be a list of numbers');
  }
  const downTypes = (config.down_block_types as string[] | undefined) ?? blockOut.map(() => 'DownEncoderBlock2D');
  if (downTypes.length !== blockOut.length || downTypes.some((t) => t !== 'DownEncoderBlock2D')) {
    throw new UnsupportedModelError('vae/config.json: only DownEncoderBlock2D encoders are supported');
  }
  // AutoencoderKL always builds its encoder with double_z: mean and log-variance side by side.
  const layersPerBlock = num(config, 'layers_per_block', 1);
  const down: VaeEncoderArchitecture['down'] = [];
  let outputChannel = blockOut[0]!;
  for (let i = 0; i < blockOut.length; i++) {
    const inputChannel = outputChannel;
    outputChannel = blockOut[i]!;
    const resnets = Array.from({ length: layersPerBlock }, (_, j) => ({
      inChannels: j === 0 ? inputChannel : outputChannel,
      outChannels: outputChannel,
    }));
    down.push({ resnets, downsample: i !== blockOut.length - 1 });
  }
  return {
    inChannels: num(config, 'in_channels', 3),
    latentChannels: num(config, 'latent_channels', 4),
    normGroups: num(config, 'norm_num_groups', 32),
    useQuantConv: config.use_quant_conv !== false,
    midAttention: config.mid_block_add_attention !== false,
    midChannels: blockOut[blockOut.length - 1]!,
    firstChannels: blockOut[0]!,
    down,
  };
}
