import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExecutionProviderName } from '../runtime/pipeline/executionProvider.ts';
import { allFusions } from '../runtime/onnx/graphFusions.ts';
import {
  attentionModeFor,
  conversionOptionsFor,
  fusionsFor,
  graphVariantFor,
  maxPreferredBatchSize,
  preferredBatchSize,
} from '../runtime/pipeline/providerTuning.ts';

const gpuProviders: ExecutionProviderName[] = ['cuda', 'webgpu', 'dml', 'coreml'];

test('default batch: 1 image per UNet call on the CPU, 4 at 512x512 on every GPU provider, fewer for larger images', () => {
  assert.equal(preferredBatchSize('cpu'), 1);
  assert.equal(preferredBatchSize('cpu', 256, 256), 1);
  for (const provider of gpuProviders) {
    assert.equal(preferredBatchSize(provider), maxPreferredBatchSize, provider);
    assert.equal(preferredBatchSize(provider, 512, 512), 4, provider);
    assert.equal(preferredBatchSize(provider, 256, 256), 4, `${provider}: never more than 4`);
    assert.equal(preferredBatchSize(provider, 768, 512), 2, provider);
    assert.equal(preferredBatchSize(provider, 768, 768), 1, provider);
    assert.equal(preferredBatchSize(provider, 2048, 2048), 1, `${provider}: at least 1`);
  }
});

test('the fused UNet graph on CUDA, DirectML and WebGPU; the plain one on the CPU and CoreML', () => {
  for (const provider of ['cuda', 'dml', 'webgpu'] as const) assert.equal(graphVariantFor(provider), 'fused', provider);
  for (const provider of ['cpu', 'coreml'] as const) assert.equal(graphVariantFor(provider), 'plain', provider);
  // Every fusion where the provider has the kernels; DirectML has GroupNorm but no SkipGroupNorm.
  assert.deepEqual(fusionsFor('webgpu', 'unet', 'fused'), allFusions);
  assert.deepEqual(fusionsFor('cuda', 'unet', 'fused'), allFusions);
  assert.deepEqual(fusionsFor('dml', 'unet', 'fused'), { ...allFusions, skipGroupNorm: false });
  for (const provider of [...gpuProviders, 'cpu'] as const) {
    assert.equal(fusionsFor(provider, 'unet', 'plain'), undefined, provider);
    for (const component of ['text_encoder', 'vae_decoder', 'vae_encoder'] as const) assert.equal(fusionsFor(provider, component, 'fused'), undefined);
  }
  // What the pipeline converts by default follows graphVariantFor.
  assert.deepEqual(conversionOptionsFor('webgpu', 'unet', true).fusions, allFusions);
  assert.equal(conversionOptionsFor('cpu', 'unet', false).fusions, undefined);
  assert.equal(conversionOptionsFor('webgpu', 'unet', true, {}, 'plain').fusions, undefined);
});

test('attention: the fused DirectML graph uses its MultiHeadAttention; its plain graph (the fallback) and CoreML, plain attention', () => {
  assert.equal(attentionModeFor('dml', 'unet'), undefined);
  assert.equal(attentionModeFor('dml', 'unet', 'plain'), 'plain');
  assert.equal(attentionModeFor('coreml', 'unet'), 'plain');
  assert.equal(attentionModeFor('coreml', 'unet', 'fused'), 'plain');
  // The others keep the converter's default (MultiHeadAttention for the UNet) and its cache.
  for (const provider of ['cpu', 'cuda', 'webgpu'] as const) assert.equal(attentionModeFor(provider, 'unet'), undefined, provider);
  for (const provider of [...gpuProviders, 'cpu'] as const) {
    assert.equal(attentionModeFor(provider, 'text_encoder'), undefined);
    assert.equal(attentionModeFor(provider, 'vae_decoder'), undefined);
  }
});
