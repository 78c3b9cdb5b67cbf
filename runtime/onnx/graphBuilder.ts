// A small typed builder for ONNX graphs, so that each model file reads like the PyTorch module it
// mirrors: `b.linear(x, 'attn1.to_q', { bias: false })`, `b.groupNorm(x, 'norm1', 32, 1e-5)`.
// Values are tensor names. Weights are never copied into the graph: each diffusers tensor becomes an
// initializer pointing into a safetensors file next to the model (external data), resolved through
// the caller's WeightResolver.
import { float32ToFloat16Bits } from '../safetensors/float16.ts';
import {
  attributeType,
  tensorDataType,
  type AttributeProtoJson,
  type DimensionJson,
  type ModelProtoJson,
  type NodeProtoJson,
  type TensorDataTypeName,
  type TensorProtoJson,
  type ValueInfoProtoJson,
} from './onnxSchema.ts';
import { resolveFusions, type GraphFusions } from './graphFusions.ts';

export type Value = string;
export type ComputeType = 'float32' | 'float16';
/** 'matmul': MatMul against a Transpose of the [out, in] weight (folded once by ORT at load);
 *  'gemm': Gemm with transB on a 2-D view of the input (no transposed copy). Measured at SD2-base
 *  size (H100 machine): on 16 CPU cores the same step time (1.75-1.87 s vs 1.72-1.81 s) with a
 *  faster load (6.6 vs 7.8 s) and 0.3 GB less memory; on WebGPU slower (152 vs 125 ms in float16,
 *  200 vs 144 ms in float32). So 'matmul' is the default. */
export type LinearMode = 'matmul' | 'gemm';
/** 'plain': MatMul/Softmax/MatMul in standard ops; 'fused': onnxruntime's com.microsoft
 *  MultiHeadAttention where no mask is needed (runs on ORT's CPU, CUDA and WebGPU providers). */
export type AttentionMode = 'plain' | 'fused';

/** ONNX opset of the default domain. 17 has LayerNormalization as a real kernel on ORT's CPU and
 *  WebGPU providers; GroupNormalization (18/21) is left out on purpose because ORT CPU expands it. */
export const onnxOpset = 17;
export const onnxIrVersion = 8;

export interface ResolvedWeight {
  dtype: TensorDataTypeName;
  shape: number[];
  /** Path relative to the ONNX file's folder. */
  location: string;
  offset: number;
  length: number;
}
export type WeightResolver = (name: string) => ResolvedWeight;

export type AttributeValue = number | string | number[] | { floats: number[] } | { float: number };

export interface GraphBuilderOptions {
  name: string;
  computeType: ComputeType;
  weights: WeightResolver;
  linearMode?: LinearMode;
  attentionMode?: AttentionMode;
  /** Contrib-kernel fusions (graphFusions.ts); none by default. */
  fusions?: Partial<GraphFusions>;
}

/** A residual sum not yet written: `branch + bias + skip`, left open so that the LayerNorm after it can
 *  take all three as one SkipLayerNormalization. */
export interface PendingResidual {
  branch: Value;
  /** The bias of the layer that produced `branch` ('' for none). */
  bias: Value | '';
  skip: Value;
}

const msDomain = 'com.microsoft';

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function toAttribute(name: string, value: AttributeValue): AttributeProtoJson {
  if (typeof value === 'string') return { name, type: attributeType.string, s: Buffer.from(value, 'utf8') };
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}: use { float } for non-integers`);
    return { name, type: attributeType.int, i: value };
  }
  if (Array.isArray(value)) return { name, type: attributeType.ints, ints: value };
  if ('floats' in value) return { name, type: attributeType.floats, floats: value.floats };
  return { name, type: attributeType.float, f: value.float };
}

export class GraphBuilder {
  readonly computeType: ComputeType;
  readonly linearMode: LinearMode;
  readonly attentionMode: AttentionMode;
  readonly fusions: GraphFusions;
  private readonly name: string;
  private readonly resolveWeight: WeightResolver;
  private readonly nodes: NodeProtoJson[] = [];
  private readonly initializers: TensorProtoJson[] = [];
  private readonly inputs: ValueInfoProtoJson[] = [];
  private readonly outputs: ValueInfoProtoJson[] = [];
  private readonly names = new Set<string>();
  private readonly weightValues = new Map<string, Value>();
  private readonly constants = new Map<string, Value>();
  private readonly usedDomains = new Set<string>();
  private counter = 0;

  constructor(options: GraphBuilderOptions) {
    this.name = options.name;
    this.computeType = options.computeType;
    this.resolveWeight = options.weights;
    this.linearMode = options.linearMode ?? 'matmul';
    this.attentionMode = options.attentionMode ?? 'plain';
    this.fusions = resolveFusions(options.fusions);
  }

  // ---------- graph boundary ----------

  input(name: string, dtype: TensorDataTypeName, dims: (number | string)[]): Value {
    this.claim(name);
    this.inputs.push(this.valueInfo(name, dtype, dims));
    return name;
  }

  output(value: Value, name: string, dtype: TensorDataTypeName, dims: (number | string)[]): void {
    this.op('Identity', [value], {}, name, [name]);
    this.outputs.push(this.valueInfo(name, dtype, dims));
  }

  private valueInfo(name: string, dtype: TensorDataTypeName, dims: (number | string)[]): ValueInfoProtoJson {
    const dim: DimensionJson[] = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
    return { name, type: { tensorType: { elemType: tensorDataType[dtype], shape: { dim } } } };
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new Error(`duplicate tensor name in graph: ${name}`);
    this.names.add(name);
  }

  private fresh(hint: string): string {
    let name: string;
    do name = `${hint}_${this.counter++}`;
    while (this.names.has(name));
    this.names.add(name);
    return name;
  }

  // ---------- initializers ----------

  /** The model's tensor `name` as an initializer; `shape` may re-view it (same element count),
   *  e.g. a 1x1 conv kernel as a matrix or a norm's [C] scale as [C,1,1]. */
  weight(name: string, shape?: number[]): Value {
    const key = shape ? `${name}|${shape.join(',')}` : name;
    const existing = this.weightValues.get(key);
    if (existing) return existing;
    const resolved = this.resolveWeight(name);
    const dims = shape ?? resolved.shape;
    if (elementCount(dims) !== elementCount(resolved.shape)) {
      throw new Error(`weight ${name}: cannot view shape [${resolved.shape}] as [${dims}]`);
    }
    const tensorName = shape ? `${name}:${dims.join('x')}` : name;
    this.claim(tensorName);
    this.initializers.push({
      name: tensorName,
      dims,
      dataType: tensorDataType[resolved.dtype],
      dataLocation: 1,
      externalData: [
        { key: 'location', value: resolved.location },
        { key: 'offset', value: String(resolved.offset) },
        { key: 'length', value: String(resolved.length) },
      ],
    });
    this.weightValues.set(key, tensorName);
    return tensorName;
  }

  /** The shape a model tensor has in the weights file. */
  weightShape(name: string): number[] {
    return this.resolveWeight(name).shape;
  }

  constant(dtype: TensorDataTypeName, dims: number[], data: ArrayBufferView, hint = 'const'): Value {
    const name = this.fresh(hint);
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.initializers.push({ name, dims, dataType: tensorDataType[dtype], rawData: Buffer.from(raw) });
    return name;
  }

  int64s(values: number[]): Value {
    const key = `i64:${values.join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.constant('int64', [values.length], BigInt64Array.from(values.map(BigInt)), 'ints');
      this.constants.set(key, name);
    }
    return name;
  }

  /** Float data in the graph's compute type. */
  floats(values: Float32Array | number[], dims: number[], hint = 'floats'): Value {
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    return this.computeType === 'float16'
      ? this.constant('float16', dims, float32ToFloat16Bits(data), hint)
      : this.constant('float32', dims, data, hint);
  }

  scalar(value: number): Value {
    const key = `${this.computeType}:${value}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.floats([value], [], 'scalar');
      this.constants.set(key, name);
    }
    return name;
  }

  // ---------- nodes ----------

  op(
    opType: string,
    inputs: (Value | '')[],
    attributes: Record<string, AttributeValue> = {},
    hint = opType,
    outputNames?: string[],
    domain = '',
  ): Value {
    return this.opMulti(opType, inputs, 1, attributes, hint, outputNames, domain)[0]!;
  }

  opMulti(
    opType: string,
    inputs: (Value | '')[],
    outputCount: number,
    attributes: Record<string, AttributeValue> = {},
    hint = opType,
    outputNames?: string[],
    domain = '',
  ): Value[] {
    const output = outputNames ?? Array.from({ length: outputCount }, () => this.fresh(`${hint}/${opType}`));
    if (outputNames) for (const name of outputNames) this.claim(name);
    if (domain) this.usedDomains.add(domain);
    this.nodes.push({
      input: inputs,
      output,
      name: this.fresh(`${hint}/${opType}#node`),
      opType,
      domain,
      attribute: Object.entries(attributes).map(([k, v]) => toAttribute(k, v)),
    });
    return output;
  }

  add(a: Value, b: Value, hint?: string): Value {
    return this.op('Add', [a, b], {}, hint);
  }
  mul(a: Value, b: Value, hint?: string): Value {
    return this.op('Mul', [a, b], {}, hint);
  }
  reshape(x: Value, dims: number[], hint?: string): Value {
    return this.op('Reshape', [x, this.int64s(dims)], {}, hint);
  }
  transpose(x: Value, perm: number[], hint?: string): Value {
    return this.op('Transpose', [x], { perm }, hint);
  }
  cast(x: Value, to: TensorDataTypeName, hint?: string): Value {
    return this.op('Cast', [x], { to: tensorDataType[to] }, hint);
  }
  /** dims [start, end) of x's shape, as an int64 vector. */
  shapeOf(x: Value, start?: number, end?: number, hint?: string): Value {
    const attributes: Record<string, AttributeValue> = {};
    if (start !== undefined) attributes.start = start;
    if (end !== undefined) attributes.end = end;
    return this.op('Shape', [x], attributes, hint);
  }
  concat(values: Value[], axis: number, hint?: string): Value {
    return this.op('Concat', values, { axis }, hint);
  }

  /** To the compute type from float32 (graph inputs), and back for outputs. */
  toCompute(x: Value): Value {
    return this.computeType === 'float32' ? x : this.cast(x, 'float16', 'in');
  }
  toFloat32(x: Value): Value {
    return this.computeType === 'float32' ? x : this.cast(x, 'float32', 'out');
  }

  // ---------- layers ----------

  silu(x: Value, hint?: string): Value {
    return this.mul(x, this.op('Sigmoid', [x], {}, hint), hint);
  }

  /** Exact (erf) GELU, as torch.nn.functional.gelu with approximate='none'. */
  gelu(x: Value, hint?: string): Value {
    const erf = this.op('Erf', [this.mul(x, this.scalar(Math.SQRT1_2), hint)], {}, hint);
    return this.mul(this.mul(x, this.add(erf, this.scalar(1), hint), hint), this.scalar(0.5), hint);
  }

  quickGelu(x: Value, hint?: string): Value {
    return this.mul(x, this.op('Sigmoid', [this.mul(x, this.scalar(1.702), hint)], {}, hint), hint);
  }

  /** torch.nn.Linear over the last axis of x (any rank >= 2); weight stored [out, in]. `rank2`: x is
   *  [rows, in], which the gemm fusion runs as one Gemm with its bias. */
  linear(x: Value, prefix: string, options: { bias?: boolean; rank2?: boolean } = {}): Value {
    const weightName = `${prefix}.weight`;
    const [outFeatures, inFeatures] = this.weightShape(weightName) as [number, number];
    const bias = options.bias === false ? '' : this.weight(`${prefix}.bias`);
    if (options.rank2 && this.fusions.gemm) {
      return this.op('Gemm', bias ? [x, this.weight(weightName), bias] : [x, this.weight(weightName)], { transB: 1 }, prefix);
    }
    if (this.linearMode === 'gemm') {
      const flat = this.reshape(x, [-1, inFeatures], prefix);
      const y = this.op('Gemm', bias ? [flat, this.weight(weightName), bias] : [flat, this.weight(weightName)], { transB: 1 }, prefix);
      const leading = this.shapeOf(x, 0, -1, prefix);
      return this.op('Reshape', [y, this.concat([leading, this.int64s([outFeatures])], 0, prefix)], {}, prefix);
    }
    const y = this.matmulWeight(x, weightName, prefix);
    return bias ? this.add(y, bias, prefix) : y;
  }

  /** x times a PyTorch [out, in] weight, transposed (ORT folds the constant Transpose at load). */
  private matmulWeight(x: Value, weightName: string, hint: string): Value {
    return this.op('MatMul', [x, this.transpose(this.weight(weightName), [1, 0], hint)], {}, hint);
  }

  /** A linear layer whose bias is left for the next op to add (SkipLayerNormalization, BiasSplitGelu,
   *  SkipGroupNorm take a bias input): the product, and the bias ('' where the layer has none). */
  linearUnbiased(x: Value, prefix: string, options: { bias?: boolean } = {}): { product: Value; bias: Value | '' } {
    return { product: this.matmulWeight(x, `${prefix}.weight`, prefix), bias: options.bias === false ? '' : this.weight(`${prefix}.bias`) };
  }

  /** The pending residual written out as plain Adds: (branch + bias) + skip. */
  settle(r: PendingResidual, hint: string): Value {
    return this.add(r.bias ? this.add(r.branch, r.bias, hint) : r.branch, r.skip, hint);
  }

  /** The residual sum and the LayerNorm of it: one SkipLayerNormalization with the skipLayerNorm
   *  fusion (its fourth output is the sum), else Adds and a LayerNorm. */
  residualLayerNorm(r: PendingResidual, prefix: string, eps: number): { normed: Value; sum: Value } {
    if (!this.fusions.skipLayerNorm) {
      const sum = this.settle(r, prefix);
      return { normed: this.layerNorm(sum, prefix, eps), sum };
    }
    const inputs = [r.branch, r.skip, this.weight(`${prefix}.weight`), this.weight(`${prefix}.bias`)];
    if (r.bias) inputs.push(r.bias);
    const [normed, , , sum] = this.opMulti('SkipLayerNormalization', inputs, 4, { epsilon: { float: eps } }, prefix, undefined, msDomain) as [Value, Value, Value, Value];
    // Mean and inverse standard deviation are not asked for ('' leaves an optional output out; DML's
    // kernel refuses a node that asks for them).
    const node = this.nodes[this.nodes.length - 1]!;
    node.output = [normed, '', '', sum];
    return { normed, sum };
  }

  /** diffusers GEGLU after its projection: (p + bias) split in half along the last axis, the first
   *  half times the exact GELU of the second. One BiasSplitGelu with that fusion. */
  geglu(projection: { product: Value; bias: Value | '' }, hint: string): Value {
    if (this.fusions.biasSplitGelu && projection.bias) {
      return this.op('BiasSplitGelu', [projection.product, projection.bias], {}, hint, undefined, msDomain);
    }
    const p = projection.bias ? this.add(projection.product, projection.bias, hint) : projection.product;
    const [value, gate] = this.opMulti('Split', [p], 2, { axis: -1 }, hint) as [Value, Value];
    return this.mul(value, this.gelu(gate, hint), hint);
  }

  conv2d(x: Value, prefix: string, options: { stride?: number; padding?: number } = {}): Value {
    const weightName = `${prefix}.weight`;
    const [, , kh, kw] = this.weightShape(weightName) as [number, number, number, number];
    const stride = options.stride ?? 1;
    const padding = options.padding ?? Math.floor(kh / 2);
    return this.op(
      'Conv',
      [x, this.weight(weightName), this.weight(`${prefix}.bias`)],
      { kernel_shape: [kh, kw], strides: [stride, stride], pads: [padding, padding, padding, padding] },
      prefix,
    );
  }

  /** torch.nn.GroupNorm on [B, C, H, W], then SiLU when `silu`. With the groupNorm fusion one
   *  com.microsoft GroupNorm on a channels-last view (the Transposes around it cancel against those
   *  an NHWC provider puts around its convolutions); else groupNormPlain (+ Sigmoid, Mul). */
  groupNormAct(x: Value, prefix: string, groups: number, eps: number, silu: boolean): Value {
    if (!this.fusions.groupNorm) {
      const y = this.groupNormPlain(x, prefix, groups, eps);
      return silu ? this.silu(y, prefix) : y;
    }
    return this.toChannelsFirst(this.groupNormChannelsLast(this.toChannelsLast(x, prefix), prefix, groups, eps, silu), prefix);
  }

  toChannelsLast(x: Value, hint: string): Value {
    return this.transpose(x, [0, 2, 3, 1], hint);
  }
  toChannelsFirst(x: Value, hint: string): Value {
    return this.transpose(x, [0, 3, 1, 2], hint);
  }

  /** com.microsoft GroupNorm of a channels-last [B, H, W, C] tensor (statistics kept in float32 by the
   *  kernels, so no Cast in float16 graphs); `skip` ([B, C] or like x) and its `skipBias` ([C]) are
   *  added first, as SkipGroupNorm. Only with the groupNorm fusion. */
  groupNormChannelsLast(
    xNhwc: Value,
    prefix: string,
    groups: number,
    eps: number,
    silu: boolean,
    skip?: { value: Value; bias: Value | '' },
  ): Value {
    if (!this.fusions.groupNorm) throw new Error('groupNormChannelsLast needs the groupNorm fusion');
    const attributes = { activation: silu ? 1 : 0, channels_last: 1, epsilon: { float: eps }, groups };
    const inputs: (Value | '')[] = [xNhwc, this.weight(`${prefix}.weight`), this.weight(`${prefix}.bias`)];
    if (!skip) return this.op('GroupNorm', inputs, attributes, prefix, undefined, msDomain);
    inputs.push(skip.value);
    if (skip.bias) inputs.push(skip.bias);
    return this.opMulti('SkipGroupNorm', inputs, 1, attributes, prefix, undefined, msDomain)[0]!;
  }

  /** torch.nn.GroupNorm on [B, C, ...]: InstanceNormalization over a [B, groups, -1] view (computed
   *  in float32 even in float16 graphs), then the per-channel affine. */
  groupNorm(x: Value, prefix: string, groups: number, eps: number): Value {
    return this.groupNormAct(x, prefix, groups, eps, false);
  }

  private groupNormPlain(x: Value, prefix: string, groups: number, eps: number): Value {
    const [channels] = this.weightShape(`${prefix}.weight`) as [number];
    const grouped = this.reshape(this.computeType === 'float16' ? this.cast(x, 'float32', prefix) : x, [0, groups, -1], prefix);
    const ones = this.constant('float32', [groups], new Float32Array(groups).fill(1), 'ones');
    const zeros = this.constant('float32', [groups], new Float32Array(groups), 'zeros');
    let y = this.op('InstanceNormalization', [grouped, ones, zeros], { epsilon: { float: eps } }, prefix);
    if (this.computeType === 'float16') y = this.cast(y, 'float16', prefix);
    y = this.op('Reshape', [y, this.shapeOf(x, undefined, undefined, prefix)], {}, prefix);
    const scale = this.weight(`${prefix}.weight`, [channels, 1, 1]);
    const shift = this.weight(`${prefix}.bias`, [channels, 1, 1]);
    return this.add(this.mul(y, scale, prefix), shift, prefix);
  }

  /** torch.nn.LayerNorm over the last axis (float32 inside float16 graphs). */
  layerNorm(x: Value, prefix: string, eps: number): Value {
    const scale = this.weight(`${prefix}.weight`);
    const shift = this.weight(`${prefix}.bias`);
    // The fused graph trusts the kernels' float32 statistics (ORT's CPU, CUDA, DML and WebGPU
    // LayerNormalization keep them in float32) and drops the Casts.
    if (this.computeType === 'float32' || this.fusions.skipLayerNorm) {
      return this.op('LayerNormalization', [x, scale, shift], { axis: -1, epsilon: { float: eps } }, prefix);
    }
    const y = this.op(
      'LayerNormalization',
      [this.cast(x, 'float32', prefix), this.cast(scale, 'float32', prefix), this.cast(shift, 'float32', prefix)],
      { axis: -1, epsilon: { float: eps } },
      prefix,
    );
    return this.cast(y, 'float16', prefix);
  }

  /** Scaled dot-product attention of [B, Sq, H*D] queries over [B, Sk, H*D] keys/values (already
   *  projected); `mask` is added to the [B, H, Sq, Sk] scores. `upcast` computes it in float32 inside
   *  a float16 graph (diffusers' upcast_attention / upcast_softmax). */
  attentionCore(q: Value, k: Value, v: Value, heads: number, headDim: number, hint: string, mask?: Value, upcast = false): Value {
    if (upcast && this.computeType === 'float16') {
      const to32 = (x: Value) => this.cast(x, 'float32', hint);
      const out = this.attentionIn('float32', to32(q), to32(k), to32(v), heads, headDim, hint, mask && to32(mask));
      return this.cast(out, 'float16', hint);
    }
    return this.attentionIn(this.computeType, q, k, v, heads, headDim, hint, mask);
  }

  private attentionIn(dtype: ComputeType, q: Value, k: Value, v: Value, heads: number, headDim: number, hint: string, mask?: Value): Value {
    if (this.attentionMode === 'fused' && !mask) {
      const scale = { float: 1 / Math.sqrt(headDim) };
      return this.op('MultiHeadAttention', [q, k, v], { num_heads: heads, scale }, hint, undefined, 'com.microsoft');
    }
    const qh = this.transpose(this.reshape(q, [0, 0, heads, headDim], hint), [0, 2, 1, 3], hint);
    const kt = this.transpose(this.reshape(k, [0, 0, heads, headDim], hint), [0, 2, 3, 1], hint);
    const vh = this.transpose(this.reshape(v, [0, 0, heads, headDim], hint), [0, 2, 1, 3], hint);
    const scale = dtype === this.computeType ? this.scalar(1 / Math.sqrt(headDim)) : this.constant('float32', [], Float32Array.from([1 / Math.sqrt(headDim)]), 'scale');
    let scores = this.op('MatMul', [this.mul(qh, scale, hint), kt], {}, hint);
    if (mask) scores = this.add(scores, mask, hint);
    const probs = this.op('Softmax', [scores], { axis: -1 }, hint);
    const out = this.transpose(this.op('MatMul', [probs, vh], {}, hint), [0, 2, 1, 3], hint);
    return this.reshape(out, [0, 0, heads * headDim], hint);
  }

  /** Nearest-neighbour upsampling, as F.interpolate(mode='nearest'): by 2, or to `like`'s H and W. */
  upsampleNearest(x: Value, hint: string, like?: Value): Value {
    const attributes = { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' };
    if (like) {
      const sizes = this.concat([this.shapeOf(x, 0, 2, hint), this.shapeOf(like, 2, 4, hint)], 0, hint);
      return this.op('Resize', [x, '', '', sizes], attributes, hint);
    }
    const scales = this.constant('float32', [4], Float32Array.from([1, 1, 2, 2]), 'scales');
    return this.op('Resize', [x, '', scales], attributes, hint);
  }

  // ---------- result ----------

  toModel(metadata: Record<string, string> = {}): ModelProtoJson {
    const opsetImport = [{ domain: '', version: onnxOpset }];
    for (const domain of this.usedDomains) opsetImport.push({ domain, version: 1 });
    return {
      irVersion: onnxIrVersion,
      opsetImport,
      producerName: 'letterpress',
      producerVersion: '1',
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
      metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    };
  }

  get nodeCount(): number {
    return this.nodes.length;
  }
}
