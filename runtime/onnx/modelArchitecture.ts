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

/**
 * Bounds on the config fields that shape a graph. A config is data from the model folder (a
 * download, a clone): `layers_per_block` 1e9 or `num_hidden_layers` 1e8 would otherwise be followed
 * into an out-of-memory abort, `norm_num_groups` 7 or fractional heads into a crash deep in the
 * converter. Generous for every Stable Diffusion family model (SDXL: 10 transformer layers, 2048
 * cross-attention channels; CLIP-G: 32 layers of 1280).
 */
export const configBounds = {
  channels: { min: 1, max: 8192 },
  blocks: { min: 1, max: 8 },
  layersPerBlock: { min: 1, max: 16 },
  transformerLayers: { min: 1, max: 32 },
  heads: { min: 1, max: 256 },
  normGroups: { min: 1, max: 1024 },
  imageChannels: { min: 1, max: 64 },
  kernel: { min: 1, max: 7 },
  padding: { min: 0, max: 3 },
  vocabSize: { min: 1, max: 1_000_000 },
  textLayers: { min: 1, max: 128 },
  textPositions: { min: 1, max: 4096 },
  textWidth: { min: 1, max: 16_384 },
  intermediate: { min: 1, max: 65_536 },
} as const;

interface Bound {
  min: number;
  max: number;
}

function describeValue(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** A whole number within `bound`; the message names the file and the field. */
function wholeNumber(value: unknown, where: string, bound: Bound): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < bound.min || value > bound.max) {
    throw new UnsupportedModelError(`${where} must be a whole number from ${bound.min} to ${bound.max}, not ${describeValue(value)}`);
  }
  return value;
}

/** A field that is a whole number (absent or null: `fallback`). */
function int(config: JsonConfig, file: string, key: string, bound: Bound, fallback?: number): number {
  return wholeNumber(config[key] ?? fallback, `${file}: "${key}"`, bound);
}

/** A finite number above 0 and below `max` (epsilons), absent or null: `fallback`. */
function positive(config: JsonConfig, file: string, key: string, max: number, fallback?: number): number {
  const value = config[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value >= max) {
    throw new UnsupportedModelError(`${file}: "${key}" must be a number above 0 and below ${max}, not ${describeValue(value)}`);
  }
  return value;
}

function finite(config: JsonConfig, file: string, key: string, fallback: number): number {
  const value = config[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > 1e6) {
    throw new UnsupportedModelError(`${file}: "${key}" must be a number, not ${describeValue(value)}`);
  }
  return value;
}

/** A whole number per block: one for all, or a list with one per block. */
function perBlock(config: JsonConfig, file: string, key: string, blocks: number, bound: Bound, fallback?: number | number[] | null): number[] {
  const value = config[key] ?? fallback;
  if (typeof value === 'number') return Array.from({ length: blocks }, () => wholeNumber(value, `${file}: "${key}"`, bound));
  if (Array.isArray(value) && value.length === blocks) return value.map((v, i) => wholeNumber(v, `${file}: "${key}"[${i}]`, bound));
  throw new UnsupportedModelError(`${file}: "${key}" must be a whole number or a list of ${blocks} (one per block), not ${describeValue(value)}`);
}

/** block_out_channels: 1–8 channel counts, each split evenly into the GroupNorm groups. */
function blockChannels(config: JsonConfig, file: string, normGroups: number): number[] {
  const value = config.block_out_channels;
  if (!Array.isArray(value) || value.length < configBounds.blocks.min || value.length > configBounds.blocks.max) {
    throw new UnsupportedModelError(
      `${file}: "block_out_channels" must be a list of ${configBounds.blocks.min} to ${configBounds.blocks.max} channel counts, not ${describeValue(value)}`,
    );
  }
  return value.map((v, i) => {
    const channels = wholeNumber(v, `${file}: "block_out_channels"[${i}]`, configBounds.channels);
    if (channels % normGroups) {
      throw new UnsupportedModelError(`${file}: "block_out_channels"[${i}] = ${channels} does not split into "norm_num_groups" = ${normGroups} groups`);
    }
    return channels;
  });
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
  const file = 'text_encoder/config.json';
  const hidden = int(config, file, 'hidden_size', configBounds.textWidth);
  const heads = int(config, file, 'num_attention_heads', configBounds.heads);
  if (hidden % heads) {
    throw new UnsupportedModelError(`${file}: "hidden_size" = ${hidden} does not split into "num_attention_heads" = ${heads} heads`);
  }
  return {
    vocabSize: int(config, file, 'vocab_size', configBounds.vocabSize),
    hidden,
    intermediate: int(config, file, 'intermediate_size', configBounds.intermediate),
    layers: int(config, file, 'num_hidden_layers', configBounds.textLayers),
    heads,
    maxPositions: int(config, file, 'max_position_embeddings', configBounds.textPositions, 77),
    eps: positive(config, file, 'layer_norm_eps', 1, 1e-5),
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

  const file = 'unet/config.json';
  const normGroups = int(config, file, 'norm_num_groups', configBounds.normGroups, 32);
  const blockOut = blockChannels(config, file, normGroups);
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
  const headsKey = config.num_attention_heads == null ? 'attention_head_dim' : 'num_attention_heads';
  const heads = perBlock(config, file, headsKey, n, configBounds.heads, 8);
  const layersPerBlock = perBlock(config, file, 'layers_per_block', n, configBounds.layersPerBlock, 2);
  const crossDims = perBlock(config, file, 'cross_attention_dim', n, configBounds.channels, 1280);
  const transformerLayers = perBlock(config, file, 'transformer_layers_per_block', n, configBounds.transformerLayers, 1);
  const reverseTransformerLayers =
    config.reverse_transformer_layers_per_block == null
      ? [...transformerLayers].reverse()
      : perBlock(config, file, 'reverse_transformer_layers_per_block', n, configBounds.transformerLayers);
  const timeProjDim = blockOut[0]!;

  const transformer = (channels: number, h: number, layers: number, cross: number): TransformerSpec => {
    if (channels % h) throw new UnsupportedModelError(`${file}: "${headsKey}" = ${h} heads do not split a block's ${channels} channels evenly`);
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

  const kernel = (key: string): number => {
    const k = int(config, file, key, configBounds.kernel, 3);
    if (k % 2 === 0) throw new UnsupportedModelError(`${file}: "${key}" must be odd (1, 3, 5 or 7), not ${k}`);
    return k;
  };
  const convInKernel = kernel('conv_in_kernel');
  const convOutKernel = kernel('conv_out_kernel');
  return {
    inChannels: int(config, file, 'in_channels', configBounds.imageChannels, 4),
    outChannels: int(config, file, 'out_channels', configBounds.imageChannels, 4),
    blockOut,
    timeProjDim,
    timeEmbedDim: timeProjDim * 4,
    flipSinToCos: (config.flip_sin_to_cos ?? true) === true,
    freqShift: finite(config, file, 'freq_shift', 0),
    normGroups,
    normEps: positive(config, file, 'norm_eps', 1, 1e-5),
    useLinearProjection: config.use_linear_projection === true,
    upcastAttention: config.upcast_attention === true,
    downsamplePadding: int(config, file, 'downsample_padding', configBounds.padding, 1),
    convInKernel,
    convOutKernel,
    down,
    mid,
    up,
  };
}

// ---------- VAE decoder (diffusers AutoencoderKL.decoder + post_quant_conv) ----------

/** What the VAE's encoder and decoder both read from vae/config.json, checked. */
function vaeBlocks(config: JsonConfig, typesKey: string, blockType: string) {
  requireAbsentOrEqual(config, 'act_fn', ['silu', null]);
  const file = 'vae/config.json';
  const normGroups = int(config, file, 'norm_num_groups', configBounds.normGroups, 32);
  const blockOut = blockChannels(config, file, normGroups);
  const types = (config[typesKey] as string[] | undefined) ?? blockOut.map(() => blockType);
  if (!Array.isArray(types) || types.length !== blockOut.length || types.some((t) => t !== blockType)) {
    throw new UnsupportedModelError(`${file}: "${typesKey}" must list one ${blockType} per block (the only kind supported)`);
  }
  const layersPerBlock = int(config, file, 'layers_per_block', configBounds.layersPerBlock, 1);
  return { file, normGroups, blockOut, layersPerBlock };
}

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
  const { file, normGroups, blockOut, layersPerBlock } = vaeBlocks(config, 'up_block_types', 'UpDecoderBlock2D');
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
    latentChannels: int(config, file, 'latent_channels', configBounds.imageChannels, 4),
    outChannels: int(config, file, 'out_channels', configBounds.imageChannels, 3),
    normGroups,
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
  // AutoencoderKL always builds its encoder with double_z: mean and log-variance side by side.
  const { file, normGroups, blockOut, layersPerBlock } = vaeBlocks(config, 'down_block_types', 'DownEncoderBlock2D');
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
    inChannels: int(config, file, 'in_channels', configBounds.imageChannels, 3),
    latentChannels: int(config, file, 'latent_channels', configBounds.imageChannels, 4),
    normGroups,
    useQuantConv: config.use_quant_conv !== false,
    midAttention: config.mid_block_add_attention !== false,
    midChannels: blockOut[blockOut.length - 1]!,
    firstChannels: blockOut[0]!,
    down,
  };
}
