// Layout-first candidates in best of N, read by a real tesseract.js worker: text-to-image first, the
// layout phase only when none reads exactly, the plate only after both; one ranking over all; each
// candidate's mode (and the layout's strength and box) in its PNG's `letterpress` record.
// The generator here stands in for the pipeline's image-to-image the way the other best-of-N tests'
// "text cards" do: no model here can be made to spell on demand. Text-to-image gives seeded noise
// (nothing to read); from a start image it gives that image back under a veil of the same noise,
// as a restyle that kept the letters would.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import sharp from 'sharp';
import type { GenerateOptions } from '../runtime/protocol/generationTypes.ts';
import type { CandidateGenerator } from '../runtime/legibility/bestOfN.ts';
import { generateBestOfN } from '../runtime/legibility/bestOfN.ts';
import { legiblePhases, runLegibleJob } from '../runtime/legibility/legibleJob.ts';
import { letterpressChunkKey, parseLegibilityChunk } from '../runtime/png/letterpressRecord.ts';
import { OcrReader } from '../runtime/legibility/ocrReader.ts';
import type { WithStartImage } from '../runtime/layout/layoutPhase.ts';
import { layoutPresetFor } from '../runtime/layout/layoutPicture.ts';
import { addPngTextChunk, readPngTextChunks } from '../runtime/png/pngTextChunks.ts';

const reader = new OcrReader();
after(() => reader.close());

type StartOptions = GenerateOptions & { start?: { png: Buffer; strength: number; mask?: Buffer } };
type Call = { seed: number; count: number; start: boolean; strength?: number; mask?: boolean };
const withStartImage: WithStartImage = (base, start) => ({ ...base, start }) as StartOptions;

async function noise(width: number, height: number, seed: number): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  let state = seed >>> 0;
  for (let i = 0; i < pixels.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    pixels[i] = state >>> 24;
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } }).blur(2).png().toBuffer();
}

/** `keeps`: which start images come back readable — every one, none, or only inpainting's (a mask given). */
function restyler(calls: Call[], keeps: 'all' | 'none' | 'masked' = 'all'): CandidateGenerator {
  return {
    async generate(options) {
      const { start } = options as StartOptions;
      const count = options.numImages ?? 1;
      calls.push({ seed: options.seed, count, start: start !== undefined, ...(start ? { strength: start.strength } : {}), ...(start?.mask ? { mask: true } : {}) });
      const keepsLetters = keeps === 'all' || (keeps === 'masked' && start?.mask !== undefined);
      const images = [];
      for (let i = 0; i < count; i++) {
        const seed = options.seed + i;
        const grain = await noise(options.width, options.height, seed);
        let png = start && keepsLetters ? await sharp(start.png).composite([{ input: grain, blend: 'soft-light' }]).png().toBuffer() : grain;
        png = addPngTextChunk(png, 'parameters', `${options.prompt}\nSteps: ${options.steps}, Seed: ${seed}`);
        const bytes = png;
        images.push({ seed, width: options.width, height: options.height, png: async () => bytes });
      }
      return { images, provider: 'cpu' };
    },
  };
}

const base: GenerateOptions = {
  modelDir: '/nonexistent',
  prompt: 'a README banner, gold letters on a navy background, that says "Letterpress"',
  steps: 20,
  guidanceScale: 7.5,
  width: 768,
  height: 256,
  seed: 100,
};

test('auto: text-to-image first, then layout-first candidates, stopping at the first that reads; modes recorded', async () => {
  const calls: Call[] = [];
  const phases = legiblePhases({ target: 'Letterpress', layout: 'auto', layoutStrength: 0.65 }, withStartImage);
  const modes: string[] = [];
  const result = await generateBestOfN({
    generator: restyler(calls),
    reader,
    options: base,
    target: 'Letterpress',
    candidates: 2,
    batchSize: 1,
    phases,
    exactFallback: true,
    onProgress: (event) => {
      if (event.status === 'legibility' && event.phase === 'scored') modes.push(event.mode ?? 'none');
    },
  });
  assert.deepEqual(calls, [
    { seed: 100, count: 1, start: false },
    { seed: 101, count: 1, start: false },
    { seed: 102, count: 1, start: true, strength: 0.65 },
  ]);
  assert.deepEqual(modes, ['txt2img', 'txt2img', 'layout']);
  assert.equal(result.fallback, null, 'the layout candidate read exactly: no plate');
  assert.equal(result.score.exactMatch, true);
  assert.equal(result.seed, 102);
  assert.equal(result.stoppedEarly, true, 'the second layout candidate was not needed');
  assert.deepEqual(result.ranked.map((c) => c.mode), ['layout', 'txt2img', 'txt2img']);
  const chunks = readPngTextChunks(result.png);
  assert.match(chunks.parameters!, /Seed: 102/);
  const record = parseLegibilityChunk(chunks[letterpressChunkKey]!) as ReturnType<typeof parseLegibilityChunk> & { layout?: { strength: number; preset: string; box: unknown } };
  assert.equal(record?.mode, 'layout');
  assert.equal(record?.layout?.strength, 0.65);
  assert.equal(record?.layout?.preset, layoutPresetFor(768, 256));
  assert.ok(record?.layout?.box);
  assert.deepEqual(record?.candidates, { count: 3, seeds: [100, 101, 102], chosenSeed: 102, modes: ['txt2img', 'txt2img', 'layout'] });
  const loser = parseLegibilityChunk(readPngTextChunks(result.ranked[1]!.png)[letterpressChunkKey]!);
  assert.equal(loser?.mode, 'txt2img');
});

test('always: layout-first only; off: text-to-image only, then the plate', async () => {
  const calls: Call[] = [];
  const always = await generateBestOfN({
    generator: restyler(calls),
    reader,
    options: { ...base, seed: 5 },
    target: 'Letterpress',
    candidates: 3,
    batchSize: 1,
    phases: legiblePhases({ target: 'Letterpress', layout: 'always' }, withStartImage),
  });
  assert.deepEqual(calls, [{ seed: 5, count: 1, start: true, strength: 0.7 }], 'the default strength, and an exact first candidate ends it');
  assert.equal(always.ranked[0]!.mode, 'layout');

  calls.length = 0;
  const off = await generateBestOfN({
    generator: restyler(calls),
    reader,
    options: { ...base, seed: 9 },
    target: 'Letterpress',
    candidates: 2,
    batchSize: 2,
    phases: legiblePhases({ target: 'Letterpress', layout: 'off' }, withStartImage),
    exactFallback: true,
  });
  assert.deepEqual(calls, [{ seed: 9, count: 2, start: false }]);
  assert.ok(off.fallback, 'nothing read: the plate is drawn');
  const record = parseLegibilityChunk(readPngTextChunks(off.png)[letterpressChunkKey]!);
  assert.equal(record?.exactTextFallback, true);
  assert.equal(record?.mode, 'txt2img');
});

test('auto where neither text-to-image nor layout reads: the repair inpaints the best one’s text region and wins', async () => {
  const calls: Call[] = [];
  const lines: string[] = [];
  const result = await runLegibleJob(
    restyler(calls, 'masked'),
    { ...base, seed: 50 },
    { target: 'Letterpress', candidates: 2, exactFallback: true, batchSize: 2, layout: 'auto' },
    { reader, withStartImage, log: (line) => lines.push(line) },
  );
  assert.deepEqual(calls, [
    { seed: 50, count: 2, start: false },
    { seed: 52, count: 2, start: true, strength: 0.7 },
    { seed: 54, count: 2, start: true, strength: 0.6, mask: true },
  ]);
  assert.equal(result.fallbackUsed, false, 'a repair read exactly: no plate');
  assert.equal(result.score.exactMatch, true);
  assert.equal(result.ranked[0]!.mode, 'repair');
  assert.equal(result.ranked.length, 6);
  const record = parseLegibilityChunk(readPngTextChunks(result.png)[letterpressChunkKey]!) as ReturnType<typeof parseLegibilityChunk> & {
    repair?: { strength: number; fromSeed: number; fromMode: string; box: { left: number; top: number; width: number; height: number } };
  };
  assert.equal(record?.mode, 'repair');
  assert.equal(record?.repair?.strength, 0.6);
  assert.ok([50, 51, 52, 53].includes(record!.repair!.fromSeed), 'repairs the best earlier candidate');
  for (const key of ['left', 'top', 'width', 'height'] as const) assert.equal(record!.repair!.box[key] % 8, 0, 'mask on the latent grid');
  assert.deepEqual(record?.candidates?.modes, ['txt2img', 'txt2img', 'layout', 'layout', 'repair', 'repair']);
  assert.ok(lines.some((line) => /\(repair\)/.test(line)), 'the log names repair candidates');
});

test('auto where nothing reads: every phase ranked together, the plate last, drawn over the best', async () => {
  const calls: Call[] = [];
  const result = await runLegibleJob(
    restyler(calls, 'none'),
    { ...base, seed: 60 },
    { target: 'Letterpress', candidates: 1, exactFallback: true, batchSize: 1, layout: 'auto' },
    { reader, withStartImage },
  );
  assert.deepEqual(calls.map((c) => [c.seed, c.start, c.mask ?? false]), [[60, false, false], [61, true, false], [62, true, true]]);
  assert.deepEqual(new Set(result.ranked.map((c) => c.mode)), new Set(['txt2img', 'layout', 'repair']));
  assert.equal(result.fallbackUsed, true);
  assert.equal(result.score.exactMatch, true, `the plate reads back: ${JSON.stringify(result.score.ocrText)}`);
  const record = parseLegibilityChunk(readPngTextChunks(result.png)[letterpressChunkKey]!);
  assert.equal(record?.exactTextFallback, true);
});
