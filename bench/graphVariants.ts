// The graphs `npm run bench -- --graph a,b` (and bench:agreement) compare side by side. `default` is
// what the pipeline itself converts and loads on the provider (runtime/pipeline/providerTuning.ts);
// each other name asks the pipeline for that graph instead, so one bench run times the same work on
// each graph.
import type { ComponentName } from '../runtime/onnx/modelArchitecture.ts';
import type { GraphVariant } from '../runtime/onnx/graphFusions.ts';
import type { ExecutionProviderName } from '../runtime/pipeline/executionProvider.ts';
import { conversionOptionsFor } from '../runtime/pipeline/providerTuning.ts';

/** 'plain' and 'fused': runtime/onnx/graphFusions.ts's variants, whatever the provider would choose. */
export const graphNames = ['default', 'plain', 'fused'] as const;
export type GraphName = (typeof graphNames)[number];

/** The converter options of `component` on `provider` for graph `name` (the component bench's graph). */
export function conversionOptionsForGraph(name: GraphName, provider: ExecutionProviderName, component: ComponentName, fp16: boolean) {
  return conversionOptionsFor(provider, component, fp16, { vaeForceUpcast: false }, name === 'default' ? undefined : name);
}

/** ImageGenerator's options for graph `name` (jobs, agreement). */
export function generatorOptionsForGraph(name: GraphName): { graph?: GraphVariant } {
  return name === 'default' ? {} : { graph: name };
}

/** `all`: every named graph (the provider's own choice is one of them), or `default` when there is no other. */
export function parseGraphVariants(text: string): GraphName[] {
  if (text.trim() === 'all') {
    const named = graphNames.filter((n) => n !== 'default');
    return named.length > 0 ? named : ['default'];
  }
  const names = [...new Set(text.split(',').map((s) => s.trim()).filter(Boolean))];
  const unknown = names.filter((n) => !(graphNames as readonly string[]).includes(n));
  if (names.length === 0 || unknown.length > 0) {
    throw new Error(`--graph: unknown graph ${unknown.join(', ') || '(none)'}; known: ${graphNames.join(', ')}, all`);
  }
  return names as GraphName[];
}
