// Legibility through the real runtime process, as the extension drives it: a job whose prompt quotes
// text is scored, best of N ranks candidates and keeps the losers as files, and the exact-text
// fallback's image reads back exactly when read again from the written file by a fresh OCR worker.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import type { GenerateOptions, ProgressEvent } from '../runtime/protocol/generationTypes.ts';
import { scoreImage } from '../runtime/legibility/legibilityScore.ts';
import { OcrReader } from '../runtime/legibility/ocrReader.ts';
import { parseGenerationParameters } from '../runtime/png/generationParameters.ts';
import { readPngTextChunks } from '../runtime/png/pngTextChunks.ts';
import { RuntimeError } from '../runtime/protocol/runtimeProtocol.ts';
import { signJobOptions, useRuntimeHarness } from './runtimeHarness.ts';
import { letterpressChunkKey, parseLegibilityChunk } from '../runtime/png/letterpressRecord.ts';

const reader = new OcrReader();
const harness = useRuntimeHarness('letterpress-legible-', () => reader.close());
const { queue } = harness;

function options(overrides: Partial<GenerateOptions> = {}): GenerateOptions {
  return signJobOptions(harness, overrides);
}

test('best of 2 with the fallback: the drawn image reads back exactly, both candidates are kept, progress counts candidates', async () => {
  const outputDir = await mkdtemp(join(harness.scratch, 'out-'));
  const job = queue.generate('open', {
    options: options(),
    outputDir,
    legibility: { target: 'OPEN 24/7', candidates: 2, exactFallback: true, keepCandidates: true },
  });
  const events: ProgressEvent[] = [];
  job.onProgress((event) => events.push(event));
  const result = await job.result;

  assert.equal(result.images.length, 1);
  const [chosen] = result.images;
  assert.ok(chosen!.legibility);
  assert.equal(chosen!.legibility.exactMatch, true, `read as ${JSON.stringify(chosen!.legibility.ocrText)}`);
  assert.equal(chosen!.legibility.exactTextFallback, true, 'random weights spell nothing: the text was drawn');
  assert.equal(chosen!.legibility.candidateCount, 2);
  // The file, read again by another OCR worker, says the same.
  const png = await readFile(chosen!.file);
  const again = await scoreImage(reader, png, 'OPEN 24/7');
  assert.equal(again.exactMatch, true, `fresh read: ${JSON.stringify(again.ocrText)}`);
  const record = parseLegibilityChunk(readPngTextChunks(png)[letterpressChunkKey]!);
  assert.equal(record?.exactTextFallback, true);
  assert.equal(record?.candidates?.chosenSeed, chosen!.seed);
  assert.equal(parseGenerationParameters(readPngTextChunks(png).parameters!).seed, chosen!.seed);

  // With the text drawn, the model's own best image is kept too: both seeds, best first.
  assert.deepEqual(result.candidates?.map((c) => c.seed).sort(), [500, 501]);
  assert.equal(result.candidates![0]!.seed, chosen!.seed);
  for (const candidate of result.candidates!) {
    const chunks = readPngTextChunks(await readFile(candidate.file));
    assert.equal(parseGenerationParameters(chunks.parameters!).seed, candidate.seed);
    assert.equal(parseLegibilityChunk(chunks[letterpressChunkKey]!)?.legibility.cer, Math.round(candidate.legibility!.cer * 1e4) / 1e4);
    assert.equal(candidate.legibility!.exactTextFallback, false);
  }
  assert.deepEqual((await readdir(outputDir)).sort(), [chosen!.file, ...result.candidates!.map((c) => c.file)].map((f) => basename(f)).sort());

  const steps = events.flatMap((e) => (e.status === 'step' ? [`${e.image}:${e.step}`] : []));
  assert.deepEqual(steps, ['0:1', '0:2', '1:1', '1:2'], 'image indices count across candidates');
  const phases = events.flatMap((e) => (e.status === 'legibility' ? [`${e.phase}${e.candidate}/${e.candidates}`] : []));
  assert.deepEqual(phases, ['read0/2', 'scored0/2', 'read1/2', 'scored1/2', `draw${result.candidates![0]!.seed - 500}/2`]);
});

test('auto candidates on the CPU make one image; a quoted prompt without candidates is only scored', async () => {
  const auto = await queue.generate('auto', {
    options: options({ seed: 600 }),
    outputDir: await mkdtemp(join(harness.scratch, 'out-')),
    legibility: { target: 'OPEN 24/7', candidates: 0, exactFallback: false, keepCandidates: true },
  }).result;
  assert.equal(auto.images[0]!.legibility?.candidateCount, 1);
  assert.equal(auto.candidates, undefined, 'one candidate: no losers');

  const outputDir = await mkdtemp(join(harness.scratch, 'out-'));
  const scored = await queue.generate('two', {
    options: options({ seed: 700, numImages: 2 }),
    outputDir,
    legibility: { target: 'OPEN 24/7', candidates: 1, exactFallback: false, keepCandidates: true },
  }).result;
  assert.deepEqual(scored.images.map((i) => i.seed), [700, 701]);
  for (const image of scored.images) {
    const record = parseLegibilityChunk(readPngTextChunks(await readFile(image.file))[letterpressChunkKey]!);
    assert.ok(record, 'each image carries its score');
    assert.equal(record.legibility.target, 'OPEN 24/7');
    assert.equal(Math.round(image.legibility!.cer * 1e4) / 1e4, record.legibility.cer);
    assert.equal(image.legibility?.exactMatch, record.legibility.exactMatch);
    assert.equal(image.legibility?.candidateCount, 1);
  }
});

test('impossible combinations are refused with a user error before any work', async () => {
  const error = await queue
    .generate('bad', {
      options: options({ numImages: 2 }),
      outputDir: await mkdtemp(join(harness.scratch, 'out-')),
      legibility: { target: 'OPEN', candidates: 4, exactFallback: false, keepCandidates: true },
    })
    .result.then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e,
    );
  assert.ok(error instanceof RuntimeError);
  assert.equal(error.code, 'invalidParams');
  assert.match(error.message, /legibility\.candidates must be 1 .*best of N keeps 1 image/);
  const tooMany = await queue
    .generate('bad', {
      options: options(),
      outputDir: await mkdtemp(join(harness.scratch, 'out-')),
      legibility: { target: 'OPEN', candidates: 99, exactFallback: false, keepCandidates: true },
    })
    .result.catch((e: unknown) => e);
  assert.ok(tooMany instanceof RuntimeError && tooMany.code === 'invalidParams');
  assert.match(tooMany.message, /^legibility\.candidates must be a whole number from 0 to 16, got 99$/);
});

test('layout-first on the tiny model, through the runtime: text-to-image, then the layout, then the repair, then the plate; each kept with its mode', async () => {
  const outputDir = await mkdtemp(join(harness.scratch, 'out-'));
  const job = queue.generate('layout', {
    options: options({ seed: 800, prompt: 'a banner, white letters on a red background, that says "OPEN"', width: 256, height: 128 }),
    outputDir,
    legibility: { target: 'OPEN', candidates: 1, exactFallback: true, keepCandidates: true, layout: 'auto', layoutStrength: 0.8 },
  });
  const events: ProgressEvent[] = [];
  job.onProgress((event) => events.push(event));
  const result = await job.result;
  // Random weights spell nothing: every phase runs, in order, and the plate comes last.
  const read = events.flatMap((e) => (e.status === 'legibility' && e.phase === 'read' ? [e.mode ?? 'txt2img'] : []));
  assert.deepEqual(read, ['txt2img', 'layout', 'repair']);
  assert.equal(events.filter((e) => e.status === 'legibility' && e.phase === 'draw').length, 1);
  const [chosen] = result.images;
  assert.equal(chosen!.legibility?.exactTextFallback, true);
  assert.equal(chosen!.legibility?.candidateCount, 3);
  assert.equal(chosen!.legibility?.exactMatch, true, `plate read as ${JSON.stringify(chosen!.legibility?.ocrText)}`);
  const record = parseLegibilityChunk(readPngTextChunks(await readFile(chosen!.file))[letterpressChunkKey]!);
  assert.deepEqual(record?.candidates?.modes, ['txt2img', 'layout', 'repair']);
  assert.deepEqual(record?.candidates?.seeds, [800, 801, 802]);

  const bySeed = new Map(result.candidates!.map((c) => [c.seed, c]));
  assert.deepEqual([...bySeed.keys()].sort(), [800, 801, 802]);
  const expect = { 800: ['txt2img', undefined, undefined], 801: ['layout', 'layout', '0.8'], 802: ['repair', 'inpaint', '0.6'] } as const;
  for (const [seed, [mode, sourceMode, strength]] of Object.entries(expect)) {
    const candidate = bySeed.get(Number(seed))!;
    assert.equal(candidate.legibility?.mode, mode === 'txt2img' ? undefined : mode);
    const chunks = readPngTextChunks(await readFile(candidate.file));
    const entry = JSON.parse(chunks[letterpressChunkKey]!) as { mode: string; source?: { mode: string; strength: number; image: { path?: string; sha256: string } } };
    assert.equal(entry.mode, mode, `seed ${seed}`);
    assert.equal(entry.source?.mode, sourceMode, `seed ${seed}: the pipeline's own record is kept`);
    if (strength) {
      assert.match(chunks.parameters!, new RegExp(`Denoising strength: ${strength}`));
      assert.equal(entry.source?.image.path, undefined, 'a start image made in memory has no path');
      assert.match(entry.source!.image.sha256, /^[0-9a-f]{64}$/);
    } else {
      assert.doesNotMatch(chunks.parameters!, /Denoising strength/);
    }
  }
});

test('layout "always": no text-to-image candidate; bad layout options are refused before any work', async () => {
  const outputDir = await mkdtemp(join(harness.scratch, 'out-'));
  const events: ProgressEvent[] = [];
  const job = queue.generate('always', {
    options: options({ seed: 900 }),
    outputDir,
    legibility: { target: 'OPEN 24/7', candidates: 1, exactFallback: false, keepCandidates: false, layout: 'always' },
  });
  job.onProgress((event) => events.push(event));
  const result = await job.result;
  const read = events.flatMap((e) => (e.status === 'legibility' && e.phase === 'read' ? [e.mode ?? 'txt2img'] : []));
  assert.deepEqual(read, ['layout', 'repair']);
  assert.equal(result.images[0]!.legibility?.candidateCount, 2);

  for (const [legibility, pattern] of [
    [{ layout: 'sometimes' }, /legibility\.layout must be one of off, auto, always/],
    [{ layout: 'auto', layoutStrength: 1.5 }, /legibility\.layoutStrength must be a number from 0.05 to 1/],
  ] as const) {
    const error = await queue
      .generate('bad', { options: options(), outputDir, legibility: { target: 'OPEN', candidates: 1, exactFallback: false, keepCandidates: false, ...legibility } as never })
      .result.then(() => null, (e: unknown) => e);
    assert.ok(error instanceof RuntimeError, String(error));
    assert.match(error.message, pattern);
  }
});
