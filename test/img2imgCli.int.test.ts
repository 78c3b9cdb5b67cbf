// `letterpress generate --init-image … [--mask …]` as a user runs it: a real child process on the
// tiny fixture model, a diffusers reference case reproduced through --latents / --encoder-noise,
// the start image's own size as the default, and mistakes refused before any work.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { crc32 } from 'node:zlib';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { parseGenerationParameters } from '../runtime/png/generationParameters.ts';
import { readPngTextChunks } from '../runtime/png/pngTextChunks.ts';
import { parseStartImageRecord } from '../runtime/png/startImageRecord.ts';
import { openSafetensors } from '../runtime/safetensors/safetensorsFile.ts';
import { referenceDir, tinyModelDir } from './fixturePaths.ts';
import { runLetterpress as letterpress } from './cliProcess.ts';
import { pixelErrors } from './floatDifference.ts';
import { letterpressChunkKey } from '../runtime/png/letterpressRecord.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lp-img2img-cli-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const key = 'inpaint.dpmpp_2m.top.s075.wide';
const initPng = join(referenceDir, 'img2img', `${key}.init.png`);
const maskPng = join(referenceDir, 'img2img', `${key}.mask.png`);
const tensors = join(referenceDir, 'img2img.safetensors');

test('--init-image --mask --strength with --latents / --encoder-noise reproduce a diffusers inpainting case', async () => {
  const out = join(dir, 'menu.png');
  const raw = join(dir, 'menu.safetensors');
  // No --width/--height: the start image's own size (192x128).
  const result = await letterpress(['generate', '--model', tinyModelDir, '--prompt', 'a chalkboard menu, the title reads "MENU"',
    '--negative-prompt', 'blurry', '--steps', '12', '--guidance', '6', '--scheduler', 'dpmpp_2m', '--device', 'cpu',
    '--init-image', initPng, '--mask', maskPng, '--strength', '0.75',
    '--latents', `${tensors}#${key}.noise`, '--encoder-noise', `${tensors}#${key}.encoder_noise`, '--out', out, '--raw', raw]);
  assert.equal(result.code, 0, result.stderr);
  // 0.75 of 12 steps: 9 run.
  assert.match(result.stderr, /image 1: step 9\/9/);

  const reference = await openSafetensors(tensors);
  const ours = await openSafetensors(raw);
  try {
    const expected = await reference.readFloat32(`${key}.image`);
    const actual = await ours.readFloat32('image');
    assert.deepEqual(ours.tensors.get('image')!.shape, [1, 128, 192, 3]);
    const { max, mean } = pixelErrors(actual, expected);
    assert.ok(max <= 2e-3 && mean <= 2e-4, `max ${max}, mean ${mean}`);
  } finally {
    await reference.close();
    await ours.close();
  }

  const chunks = readPngTextChunks(await readFile(out));
  const parameters = parseGenerationParameters(chunks.parameters!);
  assert.equal(parameters.fields['Denoising strength'], '0.75');
  assert.deepEqual([parameters.width, parameters.height], [192, 128]);
  const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
  // The CLI's workspace is the folder it runs in (the repository root here).
  assert.deepEqual(parseStartImageRecord(chunks[letterpressChunkKey]), {
    mode: 'inpaint',
    strength: 0.75,
    image: { path: relative(process.cwd(), initPng), sha256: sha(await readFile(initPng)) },
    mask: { path: relative(process.cwd(), maskPng), sha256: sha(await readFile(maskPng)) },
  });
});

test('a JPEG start image of any size: the default size is its own, rounded down to multiples of 8', async () => {
  const jpeg = join(dir, 'photo.jpg');
  await sharp(initPng).resize(100, 70, { fit: 'fill' }).jpeg().toFile(jpeg);
  const out = join(dir, 'photo-restyled.png');
  const result = await letterpress(['generate', '--model', tinyModelDir, '--prompt', 'a sign', '--steps', '2', '--strength', '0.5',
    '--device', 'cpu', '--seed', '3', '--init-image', jpeg, '--out', out]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /the start image is 100x70; resized to 96x64/);
  assert.match(result.stderr, /image 1: step 1\/1/);
  const meta = await sharp(out).metadata();
  assert.deepEqual([meta.width, meta.height], [96, 64]);
});

/** A valid PNG whose header claims width x height. */
async function pngClaiming(width: number, height: number): Promise<Buffer> {
  const out = Buffer.from(await sharp({ create: { width: 1, height: 1, channels: 3, background: '#fff' } }).png().toBuffer());
  out.writeUInt32BE(width, 16);
  out.writeUInt32BE(height, 20);
  out.writeUInt32BE(crc32(out.subarray(12, 29)), 29);
  return out;
}

test('mistakes get a one-line message and exit code 2, and nothing is written', async () => {
  const black = join(dir, 'black.png');
  await sharp({ create: { width: 192, height: 128, channels: 3, background: '#000' } }).png().toFile(black);
  const notImage = join(dir, 'notes.png');
  await writeFile(notImage, 'not an image');
  const huge = join(dir, 'huge.png');
  await writeFile(huge, await pngClaiming(30000, 30000));
  const out = join(dir, 'never.png');
  const base = ['generate', '--model', tinyModelDir, '--prompt', 'a sign', '--device', 'cpu', '--out', out];
  const cases: [string[], RegExp][] = [
    [['--init-image', initPng, '--strength', '1.5'], /--strength must be a number from 0 to 1, got 1\.5/],
    [['--init-image', initPng, '--strength', 'half'], /--strength expects a number, got "half"/],
    [['--strength', '0.5'], /--strength needs --init-image/],
    [['--mask', maskPng], /--mask needs --init-image/],
    [['--init-image', join(dir, 'missing.png')], /cannot read the start image .*missing\.png: ENOENT/],
    [['--init-image', notImage], /cannot read the start image .*notes\.png as an image/],
    [['--init-image', huge], /huge\.png is \d+×\d+ pixels, more than the 34 megapixels Letterpress decodes/],
    [['--init-image', initPng, '--mask', black], /has no white pixel/],
    [['--init-image', initPng, '--steps', '4', '--strength', '0.2'], /--strength 0\.2 with 4 steps leaves no step to run/],
    [['--init-image', initPng, '--width', '192', '--encoder-noise', `${tensors}#i2i.ddim.s075.encoder_noise`], /--encoder-noise holds 1 image\(s\) of 128x128.*192x128/],
  ];
  for (const [args, message] of cases) {
    const result = await letterpress([...base, ...args]);
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message);
    assert.doesNotMatch(result.stderr, /at .*\.ts:\d+/, 'no stack trace for a user mistake');
    assert.doesNotMatch(result.stderr, /loading /, 'refused before the model is loaded');
  }
  assert.deepEqual((await readdir(dir)).filter((name) => name.startsWith('never')), []);
});
