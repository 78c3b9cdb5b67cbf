// `letterpress draw-text` as a user runs it, on an image the tiny model generated through
// `letterpress generate`; what it writes is read back by a fresh OCR worker in the test itself.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { scoreImage } from '../runtime/legibility/legibilityScore.ts';
import { OcrReader } from '../runtime/legibility/ocrReader.ts';
import { parseGenerationParameters } from '../runtime/png/generationParameters.ts';
import { readPngTextChunks } from '../runtime/png/pngTextChunks.ts';
import { tinyModelDir } from './fixturePaths.ts';
import { runLetterpress as letterpress } from './cliProcess.ts';
import { letterpressChunkKey, parseLegibilityChunk } from '../runtime/png/letterpressRecord.ts';



describe('letterpress draw-text', () => {
  const prompt = 'a neon sign that says "OPEN 24/7"';
  const reader = new OcrReader();
  let dir: string;
  let source: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lp-draw-cli-'));
    source = join(dir, 'sign.png');
    const generated = await letterpress(['generate', '--model', tinyModelDir, '--prompt', prompt, '--steps', '2',
      '--width', '192', '--height', '192', '--seed', '5', '--device', 'cpu', '--out', source]);
    assert.equal(generated.code, 0, generated.stderr);
  });
  after(async () => {
    await reader.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('draws the exact text, keeps the generation parameters, prints the read-back, and OCR reads the file exactly', async () => {
    const out = join(dir, 'open.png');
    const result = await letterpress(['draw-text', '--image', source, '--text', 'OPEN 24/7', '--out', out]);
    assert.equal(result.code, 0, result.stderr);
    const png = await readFile(out);
    const score = await scoreImage(reader, png, 'OPEN 24/7');
    assert.equal(score.exactMatch, true, `read ${JSON.stringify(score.ocrText)}`);
    const lines = result.stdout.trim().split('\n');
    assert.equal(lines.length, 2, result.stdout);
    assert.equal(lines[0], `${out} (192x192)`);
    assert.match(lines[1], /^OCR: "OPEN 24\/7" read as ".*" \(exact, confidence \d+\)$/);
    // The runtime's drawText job ran (its log line), into a scratch folder: only the output is new here.
    assert.match(result.stderr, new RegExp(`^drew the text on ${basename(source).replace('.', '\\.')}: OCR: "OPEN 24/7"`, 'm'));
    assert.deepEqual((await readdir(dir)).filter((name) => name.includes('-text') || name.endsWith('.tmp')), []);

    const chunks = readPngTextChunks(png);
    assert.equal(parseGenerationParameters(chunks.parameters!).prompt, prompt);
    const record = parseLegibilityChunk(chunks[letterpressChunkKey]!);
    assert.equal(record?.exactTextFallback, true);
    assert.equal(record?.legibility.target, 'OPEN 24/7');
    assert.equal(record?.legibility.exactMatch, true);
    // The printed read-back is the one recorded in the file.
    assert.ok(lines[1].includes(`read as ${JSON.stringify(record!.legibility.ocrText.replace(/\s+/g, ' ').slice(0, 80))}`), lines[1]);
  });

  it('never overwrites without --force; with --force replaces the file, at the position asked for', async () => {
    const out = join(dir, 'taken.png');
    await writeFile(out, 'mine');
    const refused = await letterpress(['draw-text', '--image', source, '--text', 'HELLO', '--out', out]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /taken\.png already exists; use --force to overwrite it/);
    assert.doesNotMatch(refused.stderr, /Reading|Drawing/, 'refused before any work');
    assert.equal(await readFile(out, 'utf8'), 'mine');

    // Another text than the image's record: the image is read first, and OCR finds nothing like it there.
    const forced = await letterpress(['draw-text', '--image', source, '--text', 'HELLO', '--text-position', 'top', '--out', out, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /Reading the text already in the image/);
    const png = await readFile(out);
    const score = await scoreImage(reader, png, 'HELLO');
    assert.equal(score.exactMatch, true, `read ${JSON.stringify(score.ocrText)}`);
    assert.ok(score.bbox, 'OCR found the drawn text');
    assert.ok(score.bbox.top + score.bbox.height / 2 < 192 / 2, `drawn in the top half: ${JSON.stringify(score.bbox)}`);
    assert.ok(!(await readdir(dir)).some((name) => name.endsWith('.tmp')), 'no temporary file left');
  });

  it('refuses bad input with a one-line reason and writes nothing', async () => {
    const out = join(dir, 'never.png');
    const notPng = join(dir, 'notes.png');
    await writeFile(notPng, 'not an image');
    const cases: Array<[string[], RegExp]> = [
      [['--image', notPng, '--text', 'HI', '--out', out], /notes\.png is not a PNG image/],
      [['--image', join(dir, 'missing.png'), '--text', 'HI', '--out', out], /missing\.png does not exist/],
      [['--image', source, '--text', '   ', '--out', out], /--text is empty/],
      [['--image', source, '--text', 'A'.repeat(201), '--out', out], /--text is 201 characters long; at most 200/],
      [['--image', source, '--text', 'HI', '--text-position', 'left', '--out', out], /--text-position must be one of top, centre, bottom/],
      [['--image', source, '--text', 'HI', '--out', join(dir, 'never.jpg')], /--out must name a \.png file/],
      [['--image', source, '--out', out], /draw-text needs --text/],
    ];
    for (const [args, reason] of cases) {
      const result = await letterpress(['draw-text', ...args]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, reason);
      assert.doesNotMatch(result.stderr, /at .*\.ts:\d+/, 'no stack trace');
      assert.equal(result.stdout, '');
    }
    assert.equal(existsSync(out), false);
  });
});
