// A model folder spoiled one file at a time (issue 15, items 5 and 9): `letterpress generate` must
// refuse it before any work with one line naming the field and the file, exit 2 — never an
// out-of-memory abort, a stack trace or exit 70 — and a damaged float32 UNet beside a sound float16
// one falls back to the float16 file as a shape mismatch does.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, link, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runLetterpress } from './cliProcess.ts';
import { tinyModelDir } from './fixturePaths.ts';

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'lp-hostile-configs-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** A copy of the tiny model: configs copied, weights hard-linked (never written to). */
async function modelCopy(name: string): Promise<string> {
  const dir = join(scratch, name);
  await cp(tinyModelDir, dir, { recursive: true, filter: (src) => !src.endsWith('.safetensors') });
  for (const component of ['text_encoder', 'unet', 'vae']) {
    for (const file of await readdir(join(tinyModelDir, component))) {
      if (file.endsWith('.safetensors')) await link(join(tinyModelDir, component, file), join(dir, component, file));
    }
  }
  return dir;
}

async function patchJson(path: string, patch: Record<string, unknown>): Promise<void> {
  const config = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  await writeFile(path, JSON.stringify({ ...config, ...patch }));
}

function generate(model: string, out: string, extra: readonly string[] = []) {
  return runLetterpress(['generate', '--model', model, '--prompt', 'a sign that says "OK"', '--steps', '2',
    '--width', '64', '--height', '64', '--seed', '1', '--device', 'cpu', '--out', out, ...extra]);
}

describe('generate refuses a spoiled config before any work', () => {
  const cases: Array<[string, string, Record<string, unknown>, RegExp, string[]?]> = [
    ['train-steps', 'scheduler/scheduler_config.json', { num_train_timesteps: 1e9 }, /scheduler_config\.json: "num_train_timesteps" must be a whole number from 2 to 10000/],
    ['steps-offset', 'scheduler/scheduler_config.json', { steps_offset: 1e9 }, /scheduler_config\.json: "steps_offset" must be a whole number from 0 to 999/],
    ['unet-layers', 'unet/config.json', { layers_per_block: 1e9 }, /unet\/config\.json: "layers_per_block" must be a whole number from 1 to 16/],
    ['text-layers', 'text_encoder/config.json', { num_hidden_layers: 1e8 }, /text_encoder\/config\.json: "num_hidden_layers" must be a whole number/],
    ['groups-0', 'unet/config.json', { norm_num_groups: 0 }, /unet\/config\.json: "norm_num_groups" must be a whole number from 1/],
    ['groups-7', 'unet/config.json', { norm_num_groups: 7 }, /unet\/config\.json: "block_out_channels"\[0\] = 32 does not split into "norm_num_groups" = 7 groups/],
    ['heads-negative', 'unet/config.json', { attention_head_dim: -1 }, /unet\/config\.json: "attention_head_dim" must be a whole number from 1 to 256, not -1/],
    ['heads-fraction', 'unet/config.json', { attention_head_dim: [1, 2.5, 4, 4] }, /unet\/config\.json: "attention_head_dim"\[1\] must be a whole number/],
    ['cross-mismatch', 'unet/config.json', { cross_attention_dim: 64 }, /"cross_attention_dim" is 64, text_encoder\/config\.json "hidden_size" is 32/],
    ['tokenizer-length', 'tokenizer/tokenizer_config.json', { model_max_length: 78 }, /tokenizer_config\.json "model_max_length" is 78, more than text_encoder\/config\.json "max_position_embeddings" 77/],
    ['solver-type', 'scheduler/scheduler_config.json', { solver_type: { $gt: '' } }, /scheduler_config\.json: "solver_type" must be one of midpoint, heun, logrho, bh1, bh2, not \{"\$gt":""\}/],
    ['interpolation', 'scheduler/scheduler_config.json', { interpolation_type: 'cubic' }, /scheduler_config\.json: "interpolation_type" must be one of linear, log_linear, not "cubic"/, ['--scheduler', 'euler']],
    ['pndm-sample', 'scheduler/scheduler_config.json', { prediction_type: 'sample' }, /scheduler_config\.json: "prediction_type" must be one of epsilon, v_prediction for the PNDM sampler, not "sample"/, ['--scheduler', 'pndm']],
  ];
  for (const [name, file, patch, message, extra] of cases) {
    it(`${file} ${JSON.stringify(patch)}`, async () => {
      const model = await modelCopy(name);
      await patchJson(join(model, file), patch);
      const out = join(scratch, `${name}.png`);
      const result = await generate(model, out, extra);
      assert.equal(result.code, 2, result.stderr);
      const lines = result.stderr.trim().split('\n');
      assert.match(lines[lines.length - 1]!, message);
      assert.doesNotMatch(result.stderr, /internal error|\n\s+at /);
      assert.doesNotMatch(result.stderr, /converting/, 'refused before any conversion');
      assert.equal(existsSync(out), false);
    });
  }

  it('a config file of megabytes is refused by its size', async () => {
    const model = await modelCopy('huge-config');
    await writeFile(join(model, 'scheduler', 'scheduler_config.json'), `{"pad": "${'x'.repeat(2 << 20)}"}`);
    const result = await generate(model, join(scratch, 'huge.png'));
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /scheduler_config\.json is 2\.0 MiB, more than the 1\.0 MiB allowed/);
  });
});

describe('weights', () => {
  it('a damaged float32 UNet beside a sound float16 one: converted from the float16 file, and said so', async () => {
    const model = await modelCopy('damaged-fp32');
    const damaged = join(model, 'unet', 'diffusion_pytorch_model.safetensors');
    await rm(damaged); // the hard link, not the fixture
    const header = Buffer.alloc(8);
    header.writeBigUInt64LE(1n << 40n);
    await writeFile(damaged, Buffer.concat([header, Buffer.from('{"garbage')]));
    const out = join(scratch, 'damaged.png');
    const result = await generate(model, out);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(existsSync(out));
    assert.match(result.stderr, /unet.diffusion_pytorch_model\.safetensors: the header length field says/);
    assert.match(result.stderr, /unet.diffusion_pytorch_model\.safetensors could not be used; converted from .*unet.diffusion_pytorch_model\.fp16\.safetensors, cast to float32/);
  });
});
