import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExecutionProviderName } from '../runtime/pipeline/executionProvider.ts';
import { attentionModeFor, maxPreferredBatchSize, preferredBatchSize } from '../runtime/pipeline/providerTuning.ts';

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

test('the UNet is converted with plain attention for DirectML and CoreML, which lack com.microsoft MultiHeadAttention', () => {
  assert.equal(attentionModeFor('dml', 'unet'), 'plain');
  assert.equal(attentionModeFor('coreml', 'unet'), 'plain');
  // The others keep the converter's default (fused for the UNet) and its cache.
  for (const provider of ['cpu', 'cuda', 'webgpu'] as const) assert.equal(attentionModeFor(provider, 'unet'), undefined, provider);
  for (const provider of [...gpuProviders, 'cpu'] as const) {
    assert.equal(attentionModeFor(provider, 'text_encoder'), undefined);
    assert.equal(attentionModeFor(provider, 'vae_decoder'), undefined);
  }
});
