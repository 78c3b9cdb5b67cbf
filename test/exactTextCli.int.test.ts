// `letterpress generate --candidates … --exact-fallback` as a user runs it, on the tiny fixture model,
// with the written file read back by OCR in the test itself.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { scoreImage } from '../runtime/legibility/legibilityScore.ts';
import { OcrReader } from '../runtime/legibility/ocrReader.ts';
import { parseGenerationParameters } from '../runtime/png/generationParameters.ts';
import { readPngTextChunks } from '../runtime/png/pngTextChunks.ts';
import { tinyModelDir } from './fixturePaths.ts';
import { runLetterpress as letterpress } from './cliProcess.ts';
import { letterpressChunkKey, parseLegibilityChunk } from '../runtime/png/letterpressRecord.ts';

const dirPromise = mkdtemp(join(tmpdir(), 'lp-exact-cli-'));
after(async () => rm(await dirPromise, { recursive: true, force: true }));


test('generate --candidates 2 --exact-fallback writes an image that OCR reads as the quoted text', async () => {
  const out = join(await dirPromise, 'open.png');
  const args = ['generate', '--model', tinyModelDir, '--prompt', 'a neon sign that says "OPEN 24/7"',
    '--candidates', '2', '--exact-fallback', '--keep-candidates', '--layout', 'off', '--steps', '2', '--width', '192', '--height', '192', '--seed', '5', '--device', 'cpu', '--out', out];
  const result = await letterpress(args);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /candidate seed 5: OCR/);
  assert.match(result.stderr, /candidate seed 6: OCR/);
  assert.match(result.stderr, /drew it over seed [56]/);
  assert.match(result.stdout, /open\.png \(seed [56]\)/);

  const png = await readFile(out);
  const reader = new OcrReader();
  try {
    const score = await scoreImage(reader, png, 'OPEN 24/7');
    assert.equal(score.exactMatch, true, `read ${JSON.stringify(score.ocrText)}`);
  } finally {
    await reader.close();
  }
  const chunks = readPngTextChunks(png);
  assert.equal(parseGenerationParameters(chunks.parameters!).prompt, 'a neon sign that says "OPEN 24/7"');
  const record = parseLegibilityChunk(chunks[letterpressChunkKey]!);
  assert.equal(record?.exactTextFallback, true);
  assert.equal(record?.legibility.exactMatch, true);

  // Both candidates kept (the text was drawn, so the model's own best one is a candidate too).
  for (const seed of [5, 6]) {
    const file = join(await dirPromise, `open-candidate-${seed}.png`);
    assert.match(result.stdout, new RegExp(`open-candidate-${seed}\\.png \\(candidate, seed ${seed}\\)`));
    const candidate = readPngTextChunks(await readFile(file));
    assert.equal(parseGenerationParameters(candidate.parameters!).seed, seed);
    assert.equal(parseLegibilityChunk(candidate[letterpressChunkKey]!)?.candidates?.chosenSeed, record?.candidates?.chosenSeed);
  }
  // A candidate's name already taken: refused before any work, nothing written.
  const clashOut = join(await dirPromise, 'clash.png');
  await writeFile(join(await dirPromise, 'clash-candidate-6.png'), 'mine');
  const clash = await letterpress([...args.slice(0, -1), clashOut]);
  assert.equal(clash.code, 2);
  assert.match(clash.stderr, /clash-candidate-6\.png already exists/);
  assert.equal(existsSync(clashOut), false);
  assert.equal(await readFile(join(await dirPromise, 'clash-candidate-6.png'), 'utf8'), 'mine');
});

test('asking for candidates without any text to check is a clear error, before any work', async () => {
  const out = join(await dirPromise, 'none.png');
  const result = await letterpress(['generate', '--model', tinyModelDir, '--prompt', 'a watercolour fox', '--candidates', '3', '--out', out]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /no text to check: quote it in the prompt/);
  const both = await letterpress(['generate', '--model', tinyModelDir, '--prompt', 'a sign "HI"', '--exact-fallback', '--num-images', '2', '--out', out]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--num-images cannot be combined/);
});

test('generate --candidates auto makes one candidate on the CPU, and still reads it back', async () => {
  const out = join(await dirPromise, 'auto.png');
  const args = ['generate', '--model', tinyModelDir, '--prompt', 'a sign that says "HI"', '--candidates', 'auto', '--layout', 'off',
    '--steps', '2', '--width', '64', '--height', '64', '--seed', '3', '--device', 'cpu', '--out', out];
  const result = await letterpress(args);
  assert.equal(result.code, 0, result.stderr);
  // autoCandidateCount: several seeds where an image takes seconds (a GPU), one on the CPU.
  assert.match(result.stderr, /candidates: auto picked 1 for cpu/);
  assert.equal(result.stderr.match(/candidate seed \d+: OCR/g)?.length, 1);
  assert.match(result.stderr, /candidate seed 3: OCR: "HI" read as/);
  const record = parseLegibilityChunk(readPngTextChunks(await readFile(out))[letterpressChunkKey]!);
  assert.equal(record?.candidates?.count, 1);
  assert.equal(record?.legibility.target, 'HI');

  const zero = await letterpress(['generate', '--model', tinyModelDir, '--prompt', 'a sign "HI"', '--candidates', '0', '--out', join(await dirPromise, 'zero.png')]);
  assert.equal(zero.code, 2);
  assert.match(zero.stderr, /--candidates must be auto or a whole number from 1 to 16, got 0/);
  const noText = await letterpress(['generate', '--model', tinyModelDir, '--prompt', 'a fox', '--candidates', 'auto', '--out', join(await dirPromise, 'fox.png')]);
  assert.equal(noText.code, 2);
  assert.match(noText.stderr, /no text to check/);
});

test('generate --layout always: layout-first then repair candidates, kept with their modes; --layout checked before any work', async () => {
  const out = join(await dirPromise, 'banner.png');
  const args = ['generate', '--model', tinyModelDir, '--prompt', 'a banner with gold letters on a navy background that says "HELLO"',
    '--layout', 'always', '--layout-strength', '0.8', '--exact-fallback', '--keep-candidates', '--steps', '2', '--width', '256', '--height', '128',
    '--seed', '11', '--device', 'cpu', '--out', out];
  const result = await letterpress(args);
  assert.equal(result.code, 0, result.stderr);
  // --layout alone counts one candidate per phase on the CPU (auto candidates), layout then repair.
  assert.match(result.stderr, /candidate seed 11 \(layout\): OCR/);
  assert.match(result.stderr, /candidate seed 12 \(repair\): OCR/);
  assert.doesNotMatch(result.stderr, /candidate seed \d+: OCR/, 'no text-to-image candidate');
  const record = parseLegibilityChunk(readPngTextChunks(await readFile(out))[letterpressChunkKey]!);
  assert.deepEqual(record?.candidates?.modes, ['layout', 'repair']);
  for (const [seed, mode, strength] of [[11, 'layout', '0.8'], [12, 'repair', '0.6']] as const) {
    const chunks = readPngTextChunks(await readFile(join(await dirPromise, `banner-candidate-${seed}.png`)));
    assert.equal(parseLegibilityChunk(chunks[letterpressChunkKey]!)?.mode, mode);
    assert.match(chunks.parameters!, new RegExp(`Denoising strength: ${strength}`));
  }

  for (const [extra, message] of [
    [['--layout', 'sometimes'], /--layout must be one of off, auto, always, got "sometimes"/],
    [['--layout', 'auto', '--layout-strength', '2'], /--layout-strength must be a number from 0.05 to 1, got 2/],
    [['--layout', 'off', '--layout-strength', '0.5'], /--layout-strength needs --layout auto or always/],
    [['--layout', 'always', '--num-images', '2'], /--num-images cannot be combined/],
  ] as const) {
    const bad = join(await dirPromise, 'bad.png');
    const refused = await letterpress(['generate', '--model', tinyModelDir, '--prompt', 'a sign "HI"', ...extra, '--out', bad]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, message);
    assert.equal(existsSync(bad), false);
  }
});
