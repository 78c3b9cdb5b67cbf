// `letterpress generate` as a user runs it: a real child process on the tiny fixture model.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { parseGenerationParameters } from '../runtime/png/generationParameters.ts';
import { readPngTextChunks } from '../runtime/png/pngTextChunks.ts';
import { openSafetensors } from '../runtime/safetensors/safetensorsFile.ts';
import { referenceDir, tinyModelDir } from './fixturePaths.ts';
import { runLetterpress as letterpress } from './cliProcess.ts';

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lp-generate-cli-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});


test('writes a PNG with the parameters chunk, progress on stderr, and refuses to overwrite it', async () => {
  const out = join(dir, 'sign.png');
  const args = ['generate', '--model', tinyModelDir, '--prompt', 'a red sign, "OPEN"', '--negative-prompt', 'blurry',
    '--steps', '2', '--width', '80', '--height', '64', '--seed', '7', '--device', 'cpu', '--scheduler', 'euler', '--out', out];
  const first = await letterpress(args);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /image 1: step 1\/2/);
  assert.match(first.stderr, /image 1: step 2\/2/);
  assert.match(first.stderr, /Running on CPU \(as set\)/);
  assert.match(first.stdout, /sign\.png \(seed 7\)/);

  const png = await readFile(out);
  const meta = await sharp(png).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height, meta.channels], ['png', 80, 64, 3]);
  const p = parseGenerationParameters(readPngTextChunks(png).parameters);
  assert.deepEqual(
    [p.prompt, p.negativePrompt, p.steps, p.sampler, p.cfgScale, p.seed, p.width, p.height, p.model],
    ['a red sign, "OPEN"', 'blurry', 2, 'Euler', 7.5, 7, 80, 64, tinyModelDir],
  );

  const second = await letterpress(args);
  assert.equal(second.code, 2);
  assert.match(second.stderr, /sign\.png already exists; use --force to overwrite it/);
  assert.doesNotMatch(second.stderr, /at .*\.ts:\d+/, 'no stack trace for a user mistake');
  assert.deepEqual(await readFile(out), png);

  const forced = await letterpress([...args, '--seed', '8', '--force']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(parseGenerationParameters(readPngTextChunks(await readFile(out)).parameters).seed, 8);
});

test('--latents and --raw reproduce a diffusers reference case', async () => {
  const out = join(dir, 'ddim.png');
  const raw = join(dir, 'ddim.safetensors');
  const result = await letterpress(['generate', '--model', tinyModelDir, '--prompt', 'a red sign that says OPEN',
    '--steps', '8', '--guidance', '7.5', '--scheduler', 'ddim', '--width', '128', '--height', '128', '--device', 'cpu',
    '--latents', `${join(referenceDir, 'pipeline.safetensors')}#ddim.128x128.latents`, '--out', out, '--raw', raw]);
  assert.equal(result.code, 0, result.stderr);
  const ours = await openSafetensors(raw);
  const reference = await openSafetensors(join(referenceDir, 'pipeline.safetensors'));
  try {
    assert.deepEqual(ours.tensors.get('image')?.shape, [1, 128, 128, 3]);
    assert.equal(ours.tensors.get('image')?.dtype, 'F32');
    const image = await ours.readFloat32('image');
    const expected = await reference.readFloat32('ddim.128x128.image');
    let max = 0;
    let sum = 0;
    for (let i = 0; i < expected.length; i++) {
      const d = Math.abs(image[i] - expected[i]);
      max = Math.max(max, d);
      sum += d;
    }
    assert.ok(max <= 2e-3 && sum / expected.length <= 2e-4, `max ${max}, mean ${sum / expected.length}`);
  } finally {
    await ours.close();
    await reference.close();
  }
  assert.ok((await stat(out)).size > 0);
});

test('--batch-size denoises images together, with one progress line per batch, and leaves the images as they were', async () => {
  // Euler a draws fresh noise every step: a batch that mixed up the images' noise streams would show.
  const args = (out: string) => ['generate', '--model', tinyModelDir, '--prompt', 'a sign that says "HI"', '--steps', '2',
    '--width', '80', '--height', '64', '--seed', '11', '--num-images', '2', '--scheduler', 'euler_a', '--device', 'cpu', '--out', out];
  const single = await letterpress(args(join(dir, 'single.png')));
  assert.equal(single.code, 0, single.stderr);
  assert.match(single.stderr, /image 2: step 2\/2/);
  assert.doesNotMatch(single.stderr, /images 1-2/, 'the CPU denoises one image at a time by default');
  const batched = await letterpress([...args(join(dir, 'batched.png')), '--batch-size', '2']);
  assert.equal(batched.code, 0, batched.stderr);
  assert.match(batched.stderr, /images 1-2: step 1\/2/);
  assert.match(batched.stderr, /images 1-2: step 2\/2/);
  assert.doesNotMatch(batched.stderr, /image 2: step/);
  assert.match(batched.stderr, /up to 2 images per UNet call/);
  for (const n of [1, 2]) {
    const a = await sharp(join(dir, `single-${n}.png`)).raw().toBuffer();
    const b = await sharp(join(dir, `batched-${n}.png`)).raw().toBuffer();
    assert.equal(a.length, b.length);
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
    // Batched and single UNet calls sum in another order: at most a rounding step apart in 8 bits.
    assert.ok(max <= 1, `image ${n}: batched differs from single by up to ${max}/255`);
    assert.equal(readPngTextChunks(await readFile(join(dir, `batched-${n}.png`))).parameters, readPngTextChunks(await readFile(join(dir, `single-${n}.png`))).parameters);
  }
  const zero = await letterpress([...args(join(dir, 'zero.png')), '--batch-size', '0']);
  assert.equal(zero.code, 2);
  assert.match(zero.stderr, /--batch-size must be a whole number from 1 to \d+, got 0/);
});

test('mistakes get one-line messages that say what to do', async () => {
  const cases: [string[], RegExp][] = [
    [['--prompt', 'x'], /--out is required/],
    [['--prompt', 'x', '--out', join(dir, 'a.png'), '--width', '100'], /width must be a multiple of 8/],
    [['--prompt', 'x', '--out', join(dir, 'a.png'), '--scheduler', 'foo'], /--scheduler must be one of ddim, pndm, .*got "foo"/],
    [['--prompt', 'x', '--out', join(dir, 'a.png'), '--steps', 'many'], /--steps expects a whole number/],
    [['--prompt', 'x', '--out', join(dir, 'a.png'), '--latents', 'nofile.safetensors'], /--latents expects <file\.safetensors>#<tensor name>/],
    [
      ['--prompt', 'x', '--out', join(dir, 'a.png'), '--width', '128', '--height', '128', '--latents', `${join(referenceDir, 'pipeline.safetensors')}#ddim.128x192.latents`],
      /--latents holds 1 image\(s\) of 192x128 \(shape \[1, 4, 16, 24\]\), but 1 image\(s\) of 128x128 were asked for/,
    ],
    [['--prompt', 'x', '--out', join(dir, 'a.png'), '--latents', `${join(referenceDir, 'pipeline.safetensors')}#nope`], /has no tensor "nope"/],
  ];
  for (const [args, pattern] of cases) {
    const r = await letterpress(['generate', '--model', tinyModelDir, '--device', 'cpu', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.doesNotMatch(r.stderr, /internal error/);
  }
  const missing = join(dir, 'no-such-model');
  const r = await letterpress(['generate', '--model', missing, '--prompt', 'x', '--out', join(dir, 'b.png')]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /no-such-model/);
});
