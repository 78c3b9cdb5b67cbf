// Configs without bounds (issue 15, item 5): every field that shapes a graph or a schedule is checked
// for type, range and divisibility, with the field and the file in the message — on the SD 2 configs
// and the tiny model's, each spoiled one field at a time.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  textEncoderArchitecture,
  unetArchitecture,
  UnsupportedModelError,
  vaeDecoderArchitecture,
  vaeEncoderArchitecture,
  type JsonConfig,
} from '../runtime/onnx/modelArchitecture.ts';
import { schedulerNames } from '../runtime/protocol/generationTypes.ts';
import { createGaussianNoise } from '../runtime/pipeline/gaussianNoise.ts';
import { checkSamplerConfig, createScheduler } from '../runtime/schedulers/createScheduler.ts';
import { checkSchedulerConfig, SchedulerConfigError, schedulerEnumFields } from '../runtime/schedulers/schedulerConfigCheck.ts';
import { sd2ConfigsDir, tinyModelDir } from './fixturePaths.ts';

const read = (path: string): JsonConfig => JSON.parse(readFileSync(path, 'utf8')) as JsonConfig;
const sd2 = {
  text: read(join(sd2ConfigsDir, 'text_encoder', 'config.json')),
  unet: read(join(sd2ConfigsDir, 'unet', 'config.json')),
  vae: read(join(sd2ConfigsDir, 'vae', 'config.json')),
};
const tinyScheduler = read(join(tinyModelDir, 'scheduler', 'scheduler_config.json'));

function refuses(build: () => unknown, field: string, file: string): void {
  assert.throws(build, (error: unknown) => {
    assert.ok(error instanceof UnsupportedModelError || error instanceof SchedulerConfigError, String(error));
    assert.ok(error.message.includes(file), `the file is named: ${error.message}`);
    assert.ok(error.message.includes(`"${field}"`), `the field is named: ${error.message}`);
    assert.equal(error.message.split('\n').length, 1);
    return true;
  });
}

test('the real SD 2 configs and the tiny model pass', () => {
  assert.equal(textEncoderArchitecture(sd2.text).layers, 23);
  assert.equal(unetArchitecture(sd2.unet).down.length, 4);
  assert.equal(vaeDecoderArchitecture(sd2.vae).up.length, 4);
  assert.equal(vaeEncoderArchitecture(sd2.vae).down.length, 4);
  assert.equal(checkSchedulerConfig(tinyScheduler), tinyScheduler);
});

test('UNet fields out of range, fractional, negative or not dividing are refused by name', () => {
  const spoiled = (patch: JsonConfig) => () => unetArchitecture({ ...sd2.unet, ...patch });
  const file = 'unet/config.json';
  refuses(spoiled({ layers_per_block: 1e9 }), 'layers_per_block', file);
  refuses(spoiled({ layers_per_block: 0 }), 'layers_per_block', file);
  refuses(spoiled({ norm_num_groups: 0 }), 'norm_num_groups', file);
  refuses(spoiled({ norm_num_groups: 7 }), 'norm_num_groups', file);
  refuses(spoiled({ attention_head_dim: -1 }), 'attention_head_dim', file);
  refuses(spoiled({ attention_head_dim: [5, 10, 20.5, 20] }), 'attention_head_dim', file);
  refuses(spoiled({ attention_head_dim: [5, 10, 20, 7] }), 'attention_head_dim', file);
  refuses(spoiled({ num_attention_heads: -4 }), 'num_attention_heads', file);
  refuses(spoiled({ cross_attention_dim: 1e9 }), 'cross_attention_dim', file);
  refuses(spoiled({ transformer_layers_per_block: 1e7 }), 'transformer_layers_per_block', file);
  refuses(spoiled({ block_out_channels: [320, 640, 1280, 1e9] }), 'block_out_channels', file);
  refuses(spoiled({ block_out_channels: Array.from({ length: 100 }, () => 320) }), 'block_out_channels', file);
  refuses(spoiled({ in_channels: 0 }), 'in_channels', file);
  refuses(spoiled({ conv_in_kernel: 4 }), 'conv_in_kernel', file);
  refuses(spoiled({ norm_eps: -1 }), 'norm_eps', file);
  refuses(spoiled({ downsample_padding: 1e9 }), 'downsample_padding', file);
});

test('text encoder and VAE fields are refused by name', () => {
  const text = (patch: JsonConfig) => () => textEncoderArchitecture({ ...sd2.text, ...patch });
  refuses(text({ num_hidden_layers: 1e8 }), 'num_hidden_layers', 'text_encoder/config.json');
  refuses(text({ num_attention_heads: 0 }), 'num_attention_heads', 'text_encoder/config.json');
  refuses(text({ num_attention_heads: 7 }), 'num_attention_heads', 'text_encoder/config.json');
  refuses(text({ hidden_size: 1024.5 }), 'hidden_size', 'text_encoder/config.json');
  refuses(text({ vocab_size: 1e12 }), 'vocab_size', 'text_encoder/config.json');
  refuses(text({ max_position_embeddings: -77 }), 'max_position_embeddings', 'text_encoder/config.json');
  refuses(text({ layer_norm_eps: 'small' }), 'layer_norm_eps', 'text_encoder/config.json');
  const vae = (patch: JsonConfig) => () => vaeDecoderArchitecture({ ...sd2.vae, ...patch });
  refuses(vae({ layers_per_block: 1e9 }), 'layers_per_block', 'vae/config.json');
  refuses(vae({ norm_num_groups: 7 }), 'norm_num_groups', 'vae/config.json');
  refuses(vae({ latent_channels: 1e6 }), 'latent_channels', 'vae/config.json');
  refuses(() => vaeEncoderArchitecture({ ...sd2.vae, layers_per_block: -2 }), 'layers_per_block', 'vae/config.json');
});

test('scheduler fields that shape the schedule are refused by name', () => {
  const file = 'scheduler/scheduler_config.json';
  const spoiled = (patch: JsonConfig) => () => checkSchedulerConfig({ ...tinyScheduler, ...patch });
  refuses(spoiled({ num_train_timesteps: 1e9 }), 'num_train_timesteps', file);
  refuses(spoiled({ num_train_timesteps: 1.5 }), 'num_train_timesteps', file);
  refuses(spoiled({ steps_offset: 1e9 }), 'steps_offset', file);
  refuses(spoiled({ steps_offset: -1 }), 'steps_offset', file);
  refuses(spoiled({ beta_start: 0 }), 'beta_start', file);
  refuses(spoiled({ beta_end: 2 }), 'beta_end', file);
  refuses(spoiled({ beta_start: 0.1, beta_end: 0.01 }), 'beta_start', file);
  refuses(spoiled({ beta_schedule: 'exotic' }), 'beta_schedule', file);
  refuses(spoiled({ trained_betas: [0.1, 0.2] }), 'trained_betas', file);
  refuses(spoiled({ prediction_type: 'noise' }), 'prediction_type', file);
  refuses(spoiled({ timestep_spacing: 'random' }), 'timestep_spacing', file);
  refuses(spoiled({ solver_order: 1e6 }), 'solver_order', file);
  refuses(spoiled({ set_alpha_to_one: 'yes' }), 'set_alpha_to_one', file);
  // Within bounds, a trained_betas list of the right length passes.
  const betas = Array.from({ length: 1000 }, (_, i) => 0.0001 + i * 1e-5);
  assert.doesNotThrow(() => checkSchedulerConfig({ ...tinyScheduler, trained_betas: betas }));
});

test('every name field of the scheduler config refuses what the samplers do not know, naming the field and the values allowed', () => {
  const file = 'scheduler/scheduler_config.json';
  for (const [key, allowed] of Object.entries(schedulerEnumFields)) {
    for (const hostile of ['exotic', '', 7, true, ['linear'], { name: 'linear' }, 'x'.repeat(10_000)]) {
      assert.throws(
        () => checkSchedulerConfig({ ...tinyScheduler, [key]: hostile }, file),
        (error: unknown) => {
          assert.ok(error instanceof SchedulerConfigError, String(error));
          assert.ok(error.message.startsWith(`${file}: "${key}" must be one of ${allowed.join(', ')}, not `), error.message);
          assert.ok(error.message.length < 300, 'a long value is cut short in the message');
          assert.equal(error.message.split('\n').length, 1);
          return true;
        },
        `${key}: ${JSON.stringify(hostile).slice(0, 20)}`,
      );
    }
    for (const value of [...allowed, null]) assert.doesNotThrow(() => checkSchedulerConfig({ ...tinyScheduler, [key]: value }), `${key}: ${value}`);
  }
  const spoiled = (patch: JsonConfig) => () => checkSchedulerConfig({ ...tinyScheduler, ...patch });
  refuses(spoiled({ predict_x0: 'yes' }), 'predict_x0', file);
  refuses(spoiled({ use_dynamic_shifting: 1 }), 'use_dynamic_shifting', file);
  refuses(spoiled({ disable_corrector: 'abc' }), 'disable_corrector', file);
  refuses(spoiled({ disable_corrector: [1.5] }), 'disable_corrector', file);
  refuses(spoiled({ disable_corrector: [5000] }), 'disable_corrector', file);
  refuses(spoiled({ disable_corrector: Array.from({ length: 1e5 }, () => 0) }), 'disable_corrector', file);
  assert.doesNotThrow(spoiled({ disable_corrector: [0, 3] }));
});

test('each value the config check lets through runs on every sampler, or that sampler refuses it up front by name', () => {
  // The config check's lists are exactly what the code acts on: a value it passes never fails later
  // (at setTimesteps or in a step) with anything but a SchedulerConfigError from checkSamplerConfig.
  const file = '/m/scheduler/scheduler_config.json';
  for (const name of schedulerNames) {
    for (const [key, allowed] of Object.entries(schedulerEnumFields)) {
      for (const value of allowed) {
        const config = checkSchedulerConfig({ ...tinyScheduler, [key]: value });
        try {
          checkSamplerConfig(name, config, file);
        } catch (error) {
          assert.ok(error instanceof SchedulerConfigError, `${name} ${key}=${value}: ${String(error)}`);
          assert.ok(error.message.startsWith(`${file}: "`), error.message);
          continue;
        }
        const scheduler = createScheduler(name, config);
        scheduler.setTimesteps(10);
        const sample = new Float32Array([0.5, -0.25, 1, 0]);
        const next = scheduler.step(new Float32Array([0.1, 0.2, -0.3, 0.4]), scheduler.timesteps[0]!, scheduler.scaleModelInput(sample, scheduler.timesteps[0]!), createGaussianNoise(1));
        assert.ok(next.every(Number.isFinite), `${name} ${key}=${value}`);
      }
    }
  }
});

test('a sampler that does not take a config value refuses it before any work, naming the field, what it takes and the file', () => {
  const file = '/m/scheduler/scheduler_config.json';
  const refusesFor = (name: (typeof schedulerNames)[number], patch: JsonConfig, message: RegExp) =>
    assert.throws(() => checkSamplerConfig(name, { ...tinyScheduler, ...patch }, file), (error: unknown) => {
      assert.ok(error instanceof SchedulerConfigError, String(error));
      assert.match(error.message, message);
      assert.ok(error.message.startsWith(`${file}: `), error.message);
      return true;
    });
  refusesFor('pndm', { prediction_type: 'sample' }, /"prediction_type" must be one of epsilon, v_prediction for the PNDM sampler, not "sample"/);
  refusesFor('euler_a', { prediction_type: 'sample' }, /"prediction_type" must be one of epsilon, v_prediction for the Euler a sampler/);
  refusesFor('ddim', { thresholding: true }, /"thresholding" must be false or null for the DDIM sampler/);
  refusesFor('dpmpp_2m', { variance_type: 'learned_range' }, /"variance_type" must be null or one of fixed_small, .* for the DPM-Solver sampler/);
  refusesFor('dpmpp_2m_karras', { use_exponential_sigmas: true }, /"use_exponential_sigmas" must be false or null for the DPM-Solver sampler/);
  refusesFor('euler', { use_beta_sigmas: true }, /"use_beta_sigmas" must be false or null for the Euler sampler/);
  refusesFor('unipc', { use_dynamic_shifting: true }, /"use_dynamic_shifting" must be false or null for the UniPC sampler/);
  // What diffusers' DPM-Solver ignores, ours does too: a DDPM config's variance_type, any DPM algorithm (DPM++ pins dpmsolver++).
  for (const patch of [{ variance_type: 'fixed_small' }, { algorithm_type: 'sde-dpmsolver++' }]) {
    assert.doesNotThrow(() => checkSamplerConfig('dpmpp_2m', { ...tinyScheduler, ...patch }, file), JSON.stringify(patch));
  }
  for (const name of schedulerNames) assert.doesNotThrow(() => checkSamplerConfig(name, tinyScheduler, file), name);
});
