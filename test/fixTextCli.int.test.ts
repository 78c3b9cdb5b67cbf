// `letterpress draw-text --model-repair` (Fix text with the model) as a user runs it, on an image the
// tiny model generated: the text region is inpainted over drawn glyphs with the image's own prompt,
// each candidate read by OCR; the tiny model's random weights spell nothing, so the plate must follow,
// and the original file is never changed.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { scoreImage } from '../runtime/legibility/legibilityScore.ts';
import { OcrReader } from '../runtime/legibility/ocrReader.ts';
import { repairOptions } from '../runtime/jobs/fixTextJob.ts';
import { formatGenerationParameters } from '../runtime/png/generationParameters.ts';
import { readPngTextChunks } from '../runtime/png/pngTextChunks.ts';
import { runLetterpress as letterpress } from './cliProcess.ts';
import { tinyModelDir } from './fixturePaths.ts';
import { letterpressChunkKey, parseLegibilityChunk } from '../runtime/png/letterpressRecord.ts';

const sha256 = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

describe('letterpress draw-text --model-repair', () => {
  const reader = new OcrReader();
  let dir: string;
  let source: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lp-fix-cli-'));
    source = join(dir, 'sign.png');
    const generated = await letterpress(['generate', '--model', tinyModelDir, '--prompt', 'a shop sign that says "OPEN"', '--steps', '3',
      '--width', '192', '--height', '192', '--seed', '40', '--scheduler', 'euler', '--device', 'cpu', '--out', source]);
    assert.equal(generated.code, 0, generated.stderr);
  });
  after(async () => {
    await reader.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('inpaints the text region with the image’s own settings, then draws the plate when no repair reads; the original is untouched', async () => {
    const before = await sha256(source);
    const out = join(dir, 'sign-text.png');
    const result = await letterpress(['draw-text', '--image', source, '--text', 'OPEN', '--out', out, '--model-repair', '--model', tinyModelDir,
      '--candidates', '2', '--device', 'cpu']);
    assert.equal(result.code, 0, result.stderr);
    // The image's seed is 40: the repairs take 41 and 42, with its prompt and sampler.
    assert.match(result.stderr, /repair seed 41: OCR/);
    assert.match(result.stderr, /repair seed 42: OCR/);
    assert.match(result.stderr, /no repair of sign\.png reads exactly/);
    assert.match(result.stdout, /sign-text\.png \(192x192, text drawn on a plate\)/);
    assert.equal(await sha256(source), before, 'the original is only read');
    const png = await readFile(out);
    assert.equal((await scoreImage(reader, png, 'OPEN')).exactMatch, true);
    const record = parseLegibilityChunk(readPngTextChunks(png)[letterpressChunkKey]!);
    assert.equal(record?.exactTextFallback, true);
    const meta = await sharp(png).metadata();
    assert.deepEqual([meta.width, meta.height], [192, 192]);
  });

  it('the repair’s options come from the image’s parameters; an image without them goes straight to the plate', async () => {
    const parameters = formatGenerationParameters({
      prompt: 'a sign "HI"', negativePrompt: 'blurry', steps: 30, sampler: 'DPM++ 2M', scheduleType: 'Karras', cfgScale: 6, seed: 7, width: 192, height: 128, model: 'm',
    });
    const options = repairOptions(parameters, 192, 128, { modelDir: '/models/m', candidates: 0, device: 'cpu' });
    assert.ok(typeof options === 'object');
    assert.deepEqual(
      { prompt: options.prompt, negativePrompt: options.negativePrompt, steps: options.steps, guidanceScale: options.guidanceScale, scheduler: options.scheduler, seed: options.seed, size: [options.width, options.height] },
      { prompt: 'a sign "HI"', negativePrompt: 'blurry', steps: 30, guidanceScale: 6, scheduler: 'dpmpp_2m_karras', seed: 8, size: [192, 128] },
    );
    assert.match(String(repairOptions(undefined, 192, 128, { modelDir: '/m', candidates: 0 })), /no generation parameters/);
    assert.match(String(repairOptions(parameters, 190, 128, { modelDir: '/m', candidates: 0 })), /multiples of 8/);

    const bare = join(dir, 'bare.png');
    await sharp({ create: { width: 256, height: 128, channels: 3, background: '#dfe8f0' } }).png().toFile(bare);
    const out = join(dir, 'bare-text.png');
    const result = await letterpress(['draw-text', '--image', bare, '--text', 'HELLO', '--out', out, '--model-repair', '--model', tinyModelDir, '--device', 'cpu']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /bare\.png cannot be repaired by the model: it has no generation parameters/);
    assert.match(result.stdout, /text drawn on a plate/);
    assert.equal((await scoreImage(reader, await readFile(out), 'HELLO')).exactMatch, true);
  });

  it('repair options without --model-repair, and bad counts, are refused before any work', async () => {
    for (const [extra, message] of [
      [['--candidates', '2'], /--model, --candidates and --device go with --model-repair/],
      [['--model-repair', '--candidates', '0'], /--candidates must be auto or a whole number from 1 to 16, got 0/],
      [['--model-repair', '--device', 'tpu'], /unknown device "tpu"/],
    ] as const) {
      const out = join(dir, 'refused.png');
      const result = await letterpress(['draw-text', '--image', source, '--text', 'OPEN', '--out', out, ...extra]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
      assert.equal(existsSync(out), false);
    }
  });
});
