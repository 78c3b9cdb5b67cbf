// Best of N with the real pipeline on the tiny random-weight model (which never spells anything, so
// every candidate is scored and the exact-text fallback has to step in), and the early stop with a
// generator that draws known text, since no model here can be made to spell on demand.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import sharp from 'sharp';
import type { GenerateOptions } from '../runtime/protocol/generationTypes.ts';
import type { CandidateGenerator } from '../runtime/legibility/bestOfN.ts';
import { generateBestOfN } from '../runtime/legibility/bestOfN.ts';
import { autoCandidateCount } from '../runtime/legibility/legibleJob.ts';
import { compareScores } from '../runtime/legibility/legibilityScore.ts';
import { OcrReader } from '../runtime/legibility/ocrReader.ts';
import { paintMask, renderTextMask } from '../runtime/legibility/textMask.ts';
import { ImageGenerator } from '../runtime/pipeline/imageGenerator.ts';
import { readPngTextChunks } from '../runtime/png/pngTextChunks.ts';
import { tinyModelDir } from './fixturePaths.ts';
import { letterpressChunkKey, parseLegibilityChunk } from '../runtime/png/letterpressRecord.ts';

const reader = new OcrReader();
const generator = new ImageGenerator();
after(async () => {
  await reader.close();
  await generator.dispose();
});

const options: GenerateOptions = {
  modelDir: tinyModelDir,
  prompt: 'a neon sign that says "OPEN 24/7"',
  steps: 3,
  guidanceScale: 7.5,
  width: 192,
  height: 192,
  seed: 40,
  device: 'cpu',
};

test('tiny model: three seeds in batches of two, ranked, and the fallback makes the best one exact', async () => {
  const seen: number[] = [];
  const result = await generateBestOfN({
    generator,
    reader,
    options,
    target: 'OPEN 24/7',
    candidates: 3,
    batchSize: 2,
    exactFallback: true,
    onCandidate: (candidate) => seen.push(candidate.seed),
  });
  assert.deepEqual(seen, [40, 41, 42]);
  assert.equal(result.ranked.length, 3);
  assert.equal(result.stoppedEarly, false);
  const scores = result.ranked.map((candidate) => candidate.score);
  assert.deepEqual([...scores].sort(compareScores), scores);
  assert.equal(result.seed, result.ranked[0]!.seed);
  for (const candidate of result.ranked) {
    const record = parseLegibilityChunk(readPngTextChunks(candidate.png)[letterpressChunkKey]!);
    assert.equal(record?.legibility.cer, Math.round(candidate.score.cer * 1e4) / 1e4);
    assert.equal(record?.candidates?.chosenSeed, result.seed);
  }

  assert.ok(result.fallback, 'random weights spell nothing, so the fallback must have run');
  assert.equal(result.score.exactMatch, true, `read back ${JSON.stringify(result.score.ocrText)}`);
  const chunks = readPngTextChunks(result.png);
  assert.match(chunks.parameters!, new RegExp(`Seed: ${result.seed}`), 'generation parameters carried over');
  const record = parseLegibilityChunk(chunks[letterpressChunkKey]!);
  assert.equal(record?.exactTextFallback, true);
  assert.deepEqual(record?.candidates, { count: 3, seeds: [40, 41, 42], chosenSeed: result.seed });
  const meta = await sharp(result.png).metadata();
  assert.deepEqual([meta.width, meta.height], [192, 192]);
});

test('stops at the first batch that holds an exact match, and keeps it without a fallback', async () => {
  const spelled: Record<number, string> = { 7: 'OPFN 24/7', 8: 'OPEN 24/7', 9: 'OPEN 24/7' };
  const calls: Array<{ seed: number; numImages?: number }> = [];
  const textCards: CandidateGenerator = {
    async generate(request) {
      calls.push({ seed: request.seed, numImages: request.numImages });
      const images = [];
      for (let i = 0; i < (request.numImages ?? 1); i++) {
        const seed = request.seed + i;
        const mask = await renderTextMask(spelled[seed] ?? 'NOTHING', 300, 80);
        const png = await sharp({ create: { width: 384, height: 192, channels: 3, background: '#f4f0e8' } })
          .composite([{ input: paintMask(mask, [20, 20, 20]), raw: { width: mask.width, height: mask.height, channels: 4 }, left: 42, top: 56 }])
          .png()
          .toBuffer();
        images.push({ seed, width: 384, height: 192, png: async () => png });
      }
      return { images };
    },
  };
  const result = await generateBestOfN({ generator: textCards, reader, options: { ...options, seed: 7 }, target: 'OPEN 24/7', candidates: 4, batchSize: 1, exactFallback: true });
  assert.deepEqual(calls, [{ seed: 7, numImages: 1 }, { seed: 8, numImages: 1 }]);
  assert.equal(result.stoppedEarly, true);
  assert.equal(result.seed, 8);
  assert.equal(result.fallback, null);
  assert.equal(result.score.exactMatch, true);
  assert.equal(result.ranked[1]!.seed, 7);
  assert.equal(result.ranked[1]!.score.cer, 1 / 9);
});

test('a candidate count decided by the provider: one image first, then the rest in batches', async () => {
  const runs: Array<{ seed: number; numImages?: number }> = [];
  const cards = (provider: string): CandidateGenerator => ({
    async generate(request) {
      runs.push({ seed: request.seed, numImages: request.numImages });
      const images = [];
      for (let i = 0; i < (request.numImages ?? 1); i++) {
        const png = await sharp({ create: { width: 96, height: 96, channels: 3, background: '#ffffff' } }).png().toBuffer();
        images.push({ seed: request.seed + i, width: 96, height: 96, png: async () => png });
      }
      return { images, provider };
    },
  });
  const providers: Array<string | undefined> = [];
  const decide = (provider: string | undefined) => {
    providers.push(provider);
    return autoCandidateCount(provider);
  };
  const gpu = await generateBestOfN({ generator: cards('webgpu'), reader, options: { ...options, seed: 20 }, target: 'OPEN', candidates: decide, batchSize: 2 });
  assert.deepEqual(runs, [{ seed: 20, numImages: 1 }, { seed: 21, numImages: 2 }, { seed: 23, numImages: 1 }]);
  assert.equal(gpu.ranked.length, 4);
  runs.length = 0;
  const cpu = await generateBestOfN({ generator: cards('cpu'), reader, options: { ...options, seed: 30 }, target: 'OPEN', candidates: decide, batchSize: 2 });
  assert.deepEqual(runs, [{ seed: 30, numImages: 1 }]);
  assert.equal(cpu.ranked.length, 1);
  assert.deepEqual(providers, ['webgpu', 'cpu'], 'decided once per job');
});

test('without a batch size, candidates go in the batches the generator prefers', async () => {
  const runs: number[] = [];
  const png = await sharp({ create: { width: 96, height: 96, channels: 3, background: '#ffffff' } }).png().toBuffer();
  const batching: CandidateGenerator = {
    async generate(request) {
      runs.push(request.numImages ?? 1);
      const images = Array.from({ length: request.numImages ?? 1 }, (_, i) => ({ seed: request.seed + i, width: 96, height: 96, png: async () => png }));
      return { images, provider: 'webgpu', batchSize: 3 };
    },
  };
  const result = await generateBestOfN({ generator: batching, reader, options, target: 'OPEN', candidates: 8 });
  assert.deepEqual(runs, [2, 3, 3], 'the first call uses the default (2), then the generator\'s 3');
  assert.equal(result.ranked.length, 8);
});
