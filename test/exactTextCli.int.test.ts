// `letterpress generate --candidates … --exact-fallback` as a user runs it, on the tiny fixture model,
// with the written file read back by OCR in the test itself.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { legibilityChunkKey, parseLegibilityChunk, scoreImage } from '../runtime/legibility/legibilityScore.ts';
import { OcrReader } from '../runtime/legibility/ocrReader.ts';
import { parseGenerationParameters } from '../runtime/png/generationParameters.ts';
import { readPngTextChunks } from '../runtime/png/pngTextChunks.ts';
import { tinyModelDir } from './fixturePaths.ts';
import { runLetterpress as letterpress } from './cliProcess.ts';

const dirPromise = mkdtemp(join(tmpdir(), 'lp-exact-cli-'));
after(async () => rm(await dirPromise, { recursive: true, force: true }));


test('generate --candidates 2 --exact-fallback writes an image that OCR reads as the quoted text', async () => {
  const out = join(await dirPromise, 'open.png');
  const args = ['generate', '--model', tinyModelDir, '--prompt', 'a neon sign that says "OPEN 24/7"',
    '--candidates', '2', '--exact-fallback', '--keep-candidates', '--steps', '2', '--width', '192', '--height', '192', '--seed', '5', '--device', 'cpu', '--out', out];
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
  const record = parseLegibilityChunk(chunks[legibilityChunkKey]!);
  assert.equal(record?.exactTextFallback, true);
  assert.equal(record?.legibility.exactMatch, true);

  // Both candidates kept (the text was drawn, so the model's own best one is a candidate too).
  for (const seed of [5, 6]) {
    const file = join(await dirPromise, `open-candidate-${seed}.png`);
    assert.match(result.stdout, new RegExp(`open-candidate-${seed}\\.png \\(candidate, seed ${seed}\\)`));
    const candidate = readPngTextChunks(await readFile(file));
    assert.equal(parseGenerationParameters(candidate.parameters!).seed, seed);
    assert.equal(parseLegibilityChunk(candidate[legibilityChunkKey]!)?.candidates?.chosenSeed, record?.candidates?.chosenSeed);
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
  const args = ['generate', '--model', tinyModelDir, '--prompt', 'a sign that says "HI"', '--candidates', 'auto',
    '--steps', '2', '--width', '64', '--height', '64', '--seed', '3', '--device', 'cpu', '--out', out];
  const result = await letterpress(args);
  assert.equal(result.code, 0, result.stderr);
  // autoCandidateCount: several seeds where an image takes seconds (a GPU), one on the CPU.
  assert.match(result.stderr, /candidates: auto picked 1 for cpu/);
  assert.equal(result.stderr.match(/candidate seed \d+: OCR/g)?.length, 1);
  assert.match(result.stderr, /candidate seed 3: OCR: "HI" read as/);
  const record = parseLegibilityChunk(readPngTextChunks(await readFile(out))[legibilityChunkKey]!);
  assert.equal(record?.candidates?.count, 1);
  assert.equal(record?.legibility.target, 'HI');

  const zero = await letterpress(['generate', '--model', tinyModelDir, '--prompt', 'a sign "HI"', '--candidates', '0', '--out', join(await dirPromise, 'zero.png')]);
  assert.equal(zero.code, 2);
  assert.match(zero.stderr, /--candidates must be auto or a whole number from 1 to 16, got 0/);
  const noText = await letterpress(['generate', '--model', tinyModelDir, '--prompt', 'a fox', '--candidates', 'auto', '--out', join(await dirPromise, 'fox.png')]);
  assert.equal(noText.code, 2);
  assert.match(noText.stderr, /no text to check/);
});
