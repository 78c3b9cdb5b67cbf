// The converter's fusion options: standard-op patterns written instead as one onnxruntime kernel
// (com.microsoft contrib ops), for the GPU providers that have them. Each is its own option so a
// provider gets exactly the kernels it has (read from onnxruntime's kernel registrations:
// contrib_ops/{cpu,cuda,webgpu}/*_contrib_kernels.cc, DmlExecutionProvider OperatorRegistration.cpp).
//
//   fusion          kernel(s)                          CPU  CUDA  DML  WebGPU (onnxruntime-node 1.31.1)
//   gemm            Gemm (2-D linear with its bias)     yes  yes   yes  yes
//   skipLayerNorm   SkipLayerNormalization              yes  yes   yes  yes
//   biasSplitGelu   BiasSplitGelu                       no   yes   yes  yes
//   groupNorm       GroupNorm (channels-last, SiLU)     no   yes   yes  yes (1.31+)
//   skipGroupNorm   SkipGroupNorm                       no   yes   no   yes (1.31+)

/** Which converter graph a provider loads: 'plain' (standard ONNX ops only) or 'fused'. */
export type GraphVariant = 'plain' | 'fused';
export const graphVariants: readonly GraphVariant[] = ['plain', 'fused'];

export interface GraphFusions {
  /** A linear layer on a 2-D input (the time embedding's MLP and each ResNet's projection of it) as
   *  one Gemm with transB and its bias, instead of Transpose + MatMul + Add. */
  gemm: boolean;
  /** A residual add followed by a LayerNorm (and the bias of the layer that produced the added
   *  branch) as one com.microsoft SkipLayerNormalization, whose fourth output is the sum the next
   *  residual needs. LayerNorm in float16 graphs runs without Casts (the kernels keep their statistics
   *  in float32). */
  skipLayerNorm: boolean;
  /** GEGLU (projection bias, split, erf-GELU of the gate, product) as com.microsoft BiasSplitGelu. */
  biasSplitGelu: boolean;
  /** GroupNorm (+ the SiLU after it) as one com.microsoft GroupNorm on a channels-last view, instead of
   *  Cast, Reshape, InstanceNormalization, Cast, Shape, Reshape, Mul, Add, Sigmoid, Mul. */
  groupNorm: boolean;
  /** A ResNet's time-embedding add before its second GroupNorm as com.microsoft SkipGroupNorm (the
   *  embedding's projection bias folded in); needs `groupNorm`. */
  skipGroupNorm: boolean;
}

export const noFusions: Readonly<GraphFusions> = Object.freeze({
  gemm: false,
  skipLayerNorm: false,
  biasSplitGelu: false,
  groupNorm: false,
  skipGroupNorm: false,
});

export const allFusions: Readonly<GraphFusions> = Object.freeze({
  gemm: true,
  skipLayerNorm: true,
  biasSplitGelu: true,
  groupNorm: true,
  skipGroupNorm: true,
});

/** The fusions the CPU provider has kernels for (numerically tested against the plain graph there). */
export const cpuFusions: Readonly<GraphFusions> = Object.freeze({ ...noFusions, gemm: true, skipLayerNorm: true });

export function resolveFusions(fusions: Partial<GraphFusions> | undefined): GraphFusions {
  const resolved = { ...noFusions, ...fusions };
  if (!resolved.groupNorm) resolved.skipGroupNorm = false;
  return resolved;
}

/** The enabled fusions' names, sorted (the cache key and `cache ls` use this form). */
export function fusionNames(fusions: GraphFusions): string[] {
  return (Object.keys(fusions) as (keyof GraphFusions)[]).filter((k) => fusions[k]).sort();
}

/** Nodes by op type (`com.microsoft` ops prefixed `ms:`), most frequent first: what `letterpress
 *  convert --op-counts` and the bench print for plain against fused graphs. */
export function countOpTypes(nodes: readonly { opType?: string | null; domain?: string | null }[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const node of nodes) {
    const name = `${node.domain === 'com.microsoft' ? 'ms:' : ''}${node.opType ?? '?'}`;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return new Map([...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}
