// Image-to-image and inpainting around the numerics (img2imgReference checks those): the mask's
// limits (all black, all white), start images of other sizes and formats, what the PNG records, and
// bad input refused before the model is loaded. Real sessions on the tiny model, CPU provider.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { Tensor } from 'onnxruntime-node';
import type { GenerateOptions, ProgressEvent } from '../runtime/protocol/generationTypes.ts';
import { ensureConvertedComponent } from '../runtime/onnx/convertModel.ts';
import { GenerationError } from '../runtime/pipeline/generationError.ts';
import { ImageGenerator, samplePosterior } from '../runtime/pipeline/imageGenerator.ts';
import { vaeSampleToImage } from '../runtime/pipeline/decodedImage.ts';
import { prepareStartImage } from '../runtime/pipeline/startImage.ts';
import { parseGenerationParameters } from '../runtime/png/generationParameters.ts';
import { readPngTextChunks } from '../runtime/png/pngTextChunks.ts';
import { parseStartImageRecord } from '../runtime/png/startImageRecord.ts';
import { openSafetensors } from '../runtime/safetensors/safetensorsFile.ts';
import { referenceDir, tinyModelDir } from './fixturePaths.ts';
import { maxAbsDiff } from './floatDifference.ts';
import { createSession } from './onnxTestSupport.ts';
import { letterpressChunkKey } from '../runtime/png/letterpressRecord.ts';

const initPng = join(referenceDir, 'img2img', 'inpaint.ddim.box.init.png');
const base: GenerateOptions = {
  modelDir: tinyModelDir,
  prompt: 'a neon sign that says "OPEN"',
  steps: 6,
  guidanceScale: 7.5,
  scheduler: 'ddim',
  width: 128,
  height: 128,
  seed: 5,
  device: 'cpu',
  initImage: initPng,
  strength: 0.75,
};

const generator = new ImageGenerator({ idleUnloadMs: 60_000 });
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lp-img2img-'));
});
after(async () => {
  await generator.dispose();
  await rm(dir, { recursive: true, force: true });
});

async function solidPng(name: string, width: number, height: number, value: number): Promise<string> {
  const path = join(dir, name);
  await sharp({ create: { width, height, channels: 3, background: { r: value, g: value, b: value } } }).png().toFile(path);
  return path;
}

test('an all-black mask gives back the decode of the start image\'s own latents', async () => {
  const encoderNoise = await openSafetensors(join(referenceDir, 'img2img.safetensors')).then(async (file) => {
    try {
      return await file.readFloat32('inpaint.ddim.box.encoder_noise');
    } finally {
      await file.close();
    }
  });
  const black = await solidPng('black.png', 128, 128, 0);
  const messages: string[] = [];
  const result = await generator.generate(
    { ...base, mask: black },
    { encoderNoise, onProgress: (e) => e.status === 'message' && messages.push(e.text) },
  );
  assert.ok(messages.some((m) => /no white pixel/.test(m)), messages.join('\n'));

  // The same by hand: encoder → posterior sample with that eps → decoder, in their own sessions.
  const start = await prepareStartImage(initPng, 128, 128);
  const encoder = await createSession((await ensureConvertedComponent(tinyModelDir, 'vae_encoder')).onnxPath);
  const decoder = await createSession((await ensureConvertedComponent(tinyModelDir, 'vae_decoder')).onnxPath);
  const posterior = await encoder.run({ sample: new Tensor('float32', start.sample, [1, 3, 128, 128]) });
  const latents = samplePosterior(posterior.mean!.data as Float32Array, posterior.logvar!.data as Float32Array, encoderNoise, 0.18215);
  const unscaled = latents.map((v) => v / 0.18215);
  const decoded = await decoder.run({ latent_sample: new Tensor('float32', unscaled, [1, 4, 16, 16]) });
  const expected = vaeSampleToImage(decoded.sample!.data as Float32Array, 128, 128);
  assert.ok(maxAbsDiff(result.images[0]!.pixels, expected) <= 1e-6);
});

test('an all-white mask equals image-to-image at the same strength; the PNG records strength and source', async () => {
  const white = await solidPng('white.png', 128, 128, 255);
  const [inpainted, plain] = [await generator.generate({ ...base, mask: white, workspaceDir: referenceDir }), await generator.generate({ ...base, workspaceDir: referenceDir })];
  assert.equal(maxAbsDiff(inpainted.images[0]!.pixels, plain.images[0]!.pixels), 0);

  const png = await plain.images[0]!.png();
  const chunks = readPngTextChunks(png);
  assert.equal(parseGenerationParameters(chunks.parameters!).fields['Denoising strength'], '0.75');
  const source = parseStartImageRecord(chunks[letterpressChunkKey]);
  const sha256 = (await import('node:crypto')).createHash('sha256').update(await readFile(initPng)).digest('hex');
  assert.deepEqual(source, { mode: 'img2img', strength: 0.75, image: { path: 'img2img/inpaint.ddim.box.init.png', sha256 } });
  assert.equal(parseStartImageRecord(readPngTextChunks(await inpainted.images[0]!.png())[letterpressChunkKey])?.mode, 'inpaint');
});

test('start images of other sizes and formats: stretched to the size asked (said so), transparency on white', async () => {
  const jpeg = join(dir, 'photo.jpg');
  await sharp(initPng).resize(150, 100, { fit: 'fill' }).jpeg({ quality: 90 }).toFile(jpeg);
  const messages: string[] = [];
  const fromJpeg = await generator.generate({ ...base, width: 64, height: 64, initImage: jpeg }, { onProgress: (e) => e.status === 'message' && messages.push(e.text) });
  assert.equal(fromJpeg.images[0]!.width, 64);
  assert.ok(messages.some((m) => m === 'the start image is 150x100; resized to 64x64'), messages.join('\n'));

  // A fully transparent WebP (and one in memory) starts where a white PNG does.
  const clear = join(dir, 'clear.webp');
  await sharp({ create: { width: 64, height: 64, channels: 4, background: { r: 10, g: 200, b: 30, alpha: 0 } } }).webp({ lossless: true }).toFile(clear);
  const white = await solidPng('white64.png', 64, 64, 255);
  const options = { ...base, width: 64, height: 64 };
  const [a, b, c] = [
    await generator.generate({ ...options, initImage: clear }),
    await generator.generate({ ...options, initImage: white }),
    await generator.generate({ ...options, initImage: undefined, initImageData: await readFile(clear), initImageKind: 'layout' }),
  ];
  assert.equal(maxAbsDiff(a.images[0]!.pixels, b.images[0]!.pixels), 0);
  assert.equal(maxAbsDiff(c.images[0]!.pixels, b.images[0]!.pixels), 0);
  const record = c.images[0]!.source;
  assert.equal(record?.mode, 'layout');
  assert.equal(record?.image.path, undefined, 'an image made in memory has no path');

  // A mask of another size is resized, and said so.
  const smallMask = await solidPng('mask32.png', 32, 32, 255);
  const maskMessages: string[] = [];
  await generator.generate({ ...options, initImage: white, mask: smallMask }, { onProgress: (e) => e.status === 'message' && maskMessages.push(e.text) });
  assert.ok(maskMessages.includes('the mask is 32x32; resized to 64x64'), maskMessages.join('\n'));
});

/** A valid PNG whose header claims width x height (the pixels never get decoded). */
function pngClaiming(png: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(png);
  out.writeUInt32BE(width, 16);
  out.writeUInt32BE(height, 20);
  out.writeUInt32BE(crc32(out.subarray(12, 29)), 29);
  return out;
}

test('bad input is refused with a clear error before the model is loaded', async () => {
  const fresh = new ImageGenerator({ idleUnloadMs: 0 });
  const events: ProgressEvent[] = [];
  const run = (options: Partial<GenerateOptions>) => fresh.generate({ ...base, ...options }, { onProgress: (e) => events.push(e) });
  const notImage = join(dir, 'notes.png');
  await writeFile(notImage, 'not an image at all');
  const huge = join(dir, 'huge.png');
  await writeFile(huge, pngClaiming(await sharp({ create: { width: 1, height: 1, channels: 3, background: '#fff' } }).png().toBuffer(), 20000, 20000));
  const cases: [Partial<GenerateOptions>, RegExp][] = [
    [{ strength: 1.5 }, /strength must be a number from 0 to 1, got 1.5/],
    [{ strength: -0.1 }, /strength must be a number from 0 to 1/],
    [{ strength: 0.1 }, /strength 0.1 with 6 steps leaves no step to run/],
    [{ initImage: undefined, mask: initPng, strength: undefined }, /a mask needs a start image/],
    [{ initImage: undefined }, /strength needs a start image/],
    [{ initImage: join(dir, 'missing.png') }, /cannot read the start image .*missing\.png: ENOENT/],
    [{ initImage: notImage }, /cannot read the start image .*notes\.png as an image/],
    [{ initImage: huge }, /huge\.png is \d+×\d+ pixels, more than the 34 megapixels Letterpress decodes/],
    [{ mask: notImage }, /cannot read the mask .*notes\.png as an image/],
  ];
  for (const [options, message] of cases) {
    await assert.rejects(run(options), (error: Error) => error instanceof GenerationError && message.test(error.message), String(message));
  }
  assert.equal(events.filter((e) => e.status === 'load').length, 0, 'no model was loaded');
  assert.equal(fresh.isLoaded, false);
  await fresh.dispose();
});
