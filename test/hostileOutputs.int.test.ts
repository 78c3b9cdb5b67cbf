// Wrong output without a word (issue 15, item 8): NaN in a component's weights, or a guidance scale
// of 1e308, must not give an all-black PNG and exit 0. `letterpress generate` on copies of the tiny
// model with one tensor set to NaN must fail with one line naming the component, write nothing, and
// exit 2; the float16 → float32 retry and the black-image rule are checked on their own.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, link, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runWithFloat32Retry } from '../runtime/pipeline/imageGenerator.ts';
import { countNonFinite, isAllBlack, NonFiniteOutputError } from '../runtime/pipeline/outputCheck.ts';
import type { GenerateOptions, ProgressEvent } from '../runtime/protocol/generationTypes.ts';
import { runLetterpress } from './cliProcess.ts';
import { tinyModelDir } from './fixturePaths.ts';

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'lp-hostile-outputs-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** A copy of the tiny model whose `file` has every value of tensor `tensor` set to NaN. */
async function poisonedModel(name: string, file: string, tensor: string): Promise<string> {
  const dir = join(scratch, name);
  await cp(tinyModelDir, dir, { recursive: true, filter: (src) => !src.endsWith('.safetensors') });
  for (const component of ['text_encoder', 'unet', 'vae']) {
    for (const entry of await readdir(join(tinyModelDir, component))) {
      // The float16 variants are left out, so nothing falls back to an unpoisoned file.
      if (entry.endsWith('.safetensors') && !entry.endsWith('.fp16.safetensors') && join(component, entry) !== file) {
        await link(join(tinyModelDir, component, entry), join(dir, component, entry));
      }
    }
  }
  const data = Buffer.from(await readFile(join(tinyModelDir, file)));
  const headerLength = Number(data.readBigUInt64LE(0));
  const header = JSON.parse(data.toString('utf8', 8, 8 + headerLength)) as Record<string, { dtype: string; data_offsets: [number, number] }>;
  const info = header[tensor];
  assert.ok(info && info.dtype === 'F32', `${tensor} is a float32 tensor of ${file}`);
  for (let at = 8 + headerLength + info.data_offsets[0]; at < 8 + headerLength + info.data_offsets[1]; at += 4) data.writeFloatLE(Number.NaN, at);
  await writeFile(join(dir, file), data);
  return dir;
}

function generate(model: string, out: string, extra: string[] = []) {
  return runLetterpress(['generate', '--model', model, '--prompt', 'a sign that says "OK"', '--steps', '2',
    '--width', '64', '--height', '64', '--seed', '1', '--device', 'cpu', '--out', out, ...extra]);
}

describe('generate refuses to write an image from NaN', () => {
  const cases: Array<[string, string, string, RegExp]> = [
    ['text-encoder', join('text_encoder', 'model.safetensors'), 'embeddings.position_embedding.weight', /the text encoder produced NaN or infinite values/],
    ['unet', join('unet', 'diffusion_pytorch_model.safetensors'), 'conv_in.weight', /the UNet produced NaN or infinite values \(all of the denoised latents of image 1\)/],
    ['vae', join('vae', 'diffusion_pytorch_model.safetensors'), 'decoder.conv_in.weight', /the VAE decoder produced NaN or infinite values/],
  ];
  for (const [name, file, tensor, message] of cases) {
    it(`NaN in ${file} (${tensor}): one line naming the component, exit 2, nothing written`, async () => {
      const model = await poisonedModel(name, file, tensor);
      const out = join(scratch, `${name}.png`);
      const result = await generate(model, out);
      assert.equal(result.code, 2, result.stderr);
      const last = result.stderr.trim().split('\n').at(-1)!;
      assert.match(last, message);
      assert.match(last, /no image was written/);
      assert.doesNotMatch(result.stderr, /internal error|\n\s+at /);
      assert.equal(existsSync(out), false);
    });
  }

  it('a guidance scale of 1e308 is not written as a black image', async () => {
    const out = join(scratch, 'guidance.png');
    const result = await generate(tinyModelDir, out, ['--guidance', '1e308']);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /guidance/);
    assert.equal(existsSync(out), false);
  });
});

describe('the checks themselves', () => {
  it('counts NaN and infinities, and tells an all-black image from a dark one', () => {
    assert.equal(countNonFinite(Float32Array.from([0, Number.NaN, 1, Number.POSITIVE_INFINITY, -3.4e38])), 2);
    assert.equal(isAllBlack(new Float32Array(64 * 64 * 3)), true);
    assert.equal(isAllBlack(new Float32Array(64 * 64 * 3).fill(0.001)), true, 'below half a byte step still writes byte 0');
    // A night scene: nearly black, a few values of 2/255 here and there.
    const dark = new Float32Array(64 * 64 * 3);
    for (let i = 0; i < dark.length; i += 97) dark[i] = 2 / 255;
    assert.equal(isAllBlack(dark), false);
  });

  const options = { modelDir: '/m', prompt: 'p', width: 64, height: 64, steps: 2, guidanceScale: 7.5, seed: 1, fp16: true } as GenerateOptions;

  it('a float16 job that overflows runs once more in float32, and says so', async () => {
    const events: ProgressEvent[] = [];
    const seen: Array<boolean | undefined> = [];
    const result = await runWithFloat32Retry(options, { onProgress: (e) => events.push(e) }, async (attempt) => {
      seen.push(attempt.fp16);
      if (attempt.fp16) throw new NonFiniteOutputError('the UNet produced NaN', 'UNet', true);
      return 'float32 image';
    });
    assert.equal(result, 'float32 image');
    assert.deepEqual(seen, [true, false]);
    assert.ok(events.some((e) => e.status === 'message' && e.level === 'warning' && /float16 UNet .*again in float32/.test(e.text)));
  });

  it('no retry for float32 jobs; a retry that fails too says both were tried', async () => {
    let calls = 0;
    await assert.rejects(
      runWithFloat32Retry({ ...options, fp16: false }, {}, async () => {
        calls++;
        throw new NonFiniteOutputError('the VAE decoder produced NaN', 'VAE decoder', false);
      }),
      /VAE decoder produced NaN/,
    );
    assert.equal(calls, 1);
    await assert.rejects(
      runWithFloat32Retry(options, {}, async (attempt) => {
        throw new NonFiniteOutputError('the UNet produced NaN', 'UNet', attempt.fp16 === true);
      }),
      /the UNet produced NaN \(in float16, and again in float32\)/,
    );
  });
});
