// "Draw exact text" through the real runtime process, as the extension drives it: an image the tiny
// model generated gets the exact text drawn on it; the new file reads back exactly with a fresh OCR
// worker, keeps the generation parameters and says the text was drawn. Bad inputs are refused with
// a user error and write nothing; a cancelled job writes nothing either.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import type { GenerateOptions, ProgressEvent } from '../runtime/protocol/generationTypes.ts';
import { scoreImage } from '../runtime/legibility/legibilityScore.ts';
import { OcrReader } from '../runtime/legibility/ocrReader.ts';
import { readPngTextChunks } from '../runtime/png/pngTextChunks.ts';
import { RuntimeError } from '../runtime/protocol/runtimeProtocol.ts';
import type { DrawTextParams } from '../runtime/protocol/runtimeProtocol.ts';
import { signJobOptions, useRuntimeHarness } from './runtimeHarness.ts';
import { letterpressChunkKey, parseLegibilityChunk } from '../runtime/png/letterpressRecord.ts';

const reader = new OcrReader();
const harness = useRuntimeHarness('letterpress-drawtext-', () => reader.close());
const { queue } = harness;

function options(overrides: Partial<GenerateOptions> = {}): GenerateOptions {
  return signJobOptions(harness, { seed: 900, ...overrides });
}

/** Generates one image with the tiny model; with `target`, the runtime scores it (a `letterpress` record). */
async function generated(seed: number, target?: string): Promise<string> {
  const result = await queue.generate('source', {
    options: options({ seed }),
    outputDir: await mkdtemp(join(harness.scratch, 'source-')),
    ...(target ? { legibility: { target, candidates: 1, exactFallback: false, keepCandidates: false } } : {}),
  }).result;
  return result.images[0]!.file;
}

function drawText(params: Omit<DrawTextParams, 'jobId'>, events: ProgressEvent[] = []) {
  const job = queue.drawText('draw', params);
  job.onProgress((event) => events.push(event));
  return job;
}

test('drawn on a scored image: reads back exactly from the file, parameters kept, record says drawn, the original untouched', async () => {
  const input = await generated(900, 'OPEN 24/7');
  const original = await readFile(input);
  const before = parseLegibilityChunk(readPngTextChunks(original)[letterpressChunkKey]!);
  assert.ok(before, 'the generated image carries its score');
  assert.equal(before.legibility.exactMatch, false, 'random weights spell nothing');

  const outputDir = await mkdtemp(join(harness.scratch, 'out-'));
  const events: ProgressEvent[] = [];
  const result = await drawText({ input, target: 'OPEN 24/7', outputDir }, events).result;

  assert.deepEqual(await readdir(outputDir), ['image-1-seed-900-text.png']);
  assert.equal(result.file, join(outputDir, 'image-1-seed-900-text.png'));
  assert.deepEqual([result.width, result.height], [192, 192]);
  assert.equal(result.legibility.exactMatch, true, `read as ${JSON.stringify(result.legibility.ocrText)}`);
  assert.equal(result.legibility.exactTextFallback, true);
  const png = await readFile(result.file);
  const again = await scoreImage(reader, png, 'OPEN 24/7');
  assert.equal(again.exactMatch, true, `fresh read: ${JSON.stringify(again.ocrText)}`);
  const chunks = readPngTextChunks(png);
  assert.equal(chunks.parameters, readPngTextChunks(original).parameters);
  const record = parseLegibilityChunk(chunks[letterpressChunkKey]!);
  assert.equal(record?.exactTextFallback, true);
  assert.equal(record?.legibility.exactMatch, true);
  assert.equal(record?.legibility.target, 'OPEN 24/7');
  const meta = await sharp(png).metadata();
  assert.deepEqual([meta.width, meta.height], [192, 192]);
  assert.deepEqual(await readFile(input), original, 'the input is only read');
  // The stored score placed the text: the image was not read again before drawing.
  const phases = events.flatMap((e) => (e.status === 'legibility' ? [e.phase] : []));
  assert.deepEqual(phases, ['draw']);
});

test('an image without a record is read first; two lines; a new text for a scored image is read again', async () => {
  const plain = await generated(901);
  assert.equal(readPngTextChunks(await readFile(plain))[letterpressChunkKey], undefined);
  const events: ProgressEvent[] = [];
  const outputDir = await mkdtemp(join(harness.scratch, 'out-'));
  const result = await drawText({ input: plain, target: 'SALE\n50% OFF', position: 'bottom', outputDir }, events).result;
  assert.equal(result.legibility.exactMatch, true, `read as ${JSON.stringify(result.legibility.ocrText)}`);
  assert.deepEqual(events.flatMap((e) => (e.status === 'legibility' ? [e.phase] : [])), ['read', 'draw']);
  assert.equal((await scoreImage(reader, await readFile(result.file), 'SALE\n50% OFF')).exactMatch, true);

  // A record scored for other words says nothing about where these go.
  const scored = await generated(902, 'OPEN 24/7');
  const other: ProgressEvent[] = [];
  const redrawn = await drawText({ input: scored, target: 'CLOSED', outputDir: await mkdtemp(join(harness.scratch, 'out-')) }, other).result;
  assert.equal(redrawn.legibility.target, 'CLOSED');
  assert.deepEqual(other.flatMap((e) => (e.status === 'legibility' ? [e.phase] : [])), ['read', 'draw']);
});

test('bad inputs are refused with a user error that names the problem, and nothing is written', async () => {
  const folder = await mkdtemp(join(harness.scratch, 'bad-'));
  const notPng = join(folder, 'notes.png');
  await writeFile(notPng, 'just text, not an image\n');
  const jpeg = join(folder, 'photo.png');
  await writeFile(jpeg, await sharp({ create: { width: 128, height: 128, channels: 3, background: '#808080' } }).jpeg().toBuffer());
  const tiny = join(folder, 'tiny.png');
  await writeFile(tiny, await sharp({ create: { width: 32, height: 32, channels: 3, background: '#808080' } }).png().toBuffer());
  const truncated = join(folder, 'truncated.png');
  const whole = await sharp({ create: { width: 128, height: 128, channels: 3, background: '#336699' } }).png().toBuffer();
  await writeFile(truncated, whole.subarray(0, Math.floor(whole.length / 2)));
  const good = join(folder, 'good.png');
  await writeFile(good, whole);
  const aFolder = join(folder, 'a-folder.png');
  await mkdir(aFolder);

  const cases: Array<[string, Omit<DrawTextParams, 'jobId' | 'outputDir'>, RegExp]> = [
    ['missing file', { input: join(folder, 'gone.png'), target: 'HI' }, /gone\.png does not exist/],
    ['text file', { input: notPng, target: 'HI' }, /notes\.png is not a PNG image/],
    ['JPEG named .png', { input: jpeg, target: 'HI' }, /photo\.png is not a PNG image/],
    ['folder', { input: aFolder, target: 'HI' }, /is a folder/],
    ['too small', { input: tiny, target: 'HI' }, /32×32: too small/],
    ['truncated', { input: truncated, target: 'HI' }, /truncated\.png is not a complete PNG/],
  ];
  for (const [what, params, message] of cases) {
    const outputDir = await mkdtemp(join(harness.scratch, 'out-'));
    const error = await drawText({ ...params, outputDir }).result.then(
      () => assert.fail(`${what}: expected a rejection`),
      (e: unknown) => e,
    );
    assert.ok(error instanceof RuntimeError, `${what}: ${String(error)}`);
    assert.equal(error.code, 'userError', `${what}: ${error.code} ${error.message}`);
    assert.match(error.message, message, what);
    assert.deepEqual(await readdir(outputDir), [], `${what}: nothing written`);
  }
  // The params themselves are the protocol validator's: refused before the job starts.
  const invalid: Array<[string, Omit<DrawTextParams, 'jobId' | 'outputDir'>, RegExp]> = [
    ['text too long', { input: good, target: 'A'.repeat(201) }, /^target is 201 characters long; at most 200/],
    ['empty text', { input: good, target: ' \n ' }, /^target is empty/],
    ['relative input', { input: 'good.png', target: 'HI' }, /^input must be an absolute path/],
  ];
  for (const [what, params, message] of invalid) {
    const outputDir = await mkdtemp(join(harness.scratch, 'out-'));
    const error = await drawText({ ...params, outputDir }).result.then(
      () => assert.fail(`${what}: expected a rejection`),
      (e: unknown) => e,
    );
    assert.ok(error instanceof RuntimeError && error.code === 'invalidParams', `${what}: ${String(error)}`);
    assert.match(error.message, message, what);
    assert.deepEqual(await readdir(outputDir), [], `${what}: nothing written`);
  }
});

test('cancelled while reading the image: a cancelled error, nothing written', async () => {
  const input = await generated(903);
  const outputDir = await mkdtemp(join(harness.scratch, 'out-'));
  const job = drawText({ input, target: 'OPEN 24/7', outputDir });
  // The runtime reports 'read' before OCR starts; the cancel arrives long before OCR is done.
  job.onProgress((event) => {
    if (event.status === 'legibility' && event.phase === 'read') job.cancel();
  });
  const error = await job.result.then(
    () => assert.fail('expected the job to be cancelled'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof RuntimeError && error.code === 'cancelled', String(error));
  assert.equal(job.state(), 'cancelled');
  assert.deepEqual(await readdir(outputDir), []);
  // The runtime is still there for the next job.
  const after = await drawText({ input, target: 'OPEN', outputDir }).result;
  assert.equal(after.legibility.exactTextFallback, true);
});
