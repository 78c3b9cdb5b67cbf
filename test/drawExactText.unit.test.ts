// "Draw Exact Text on Image…", the pure parts: the text offered, typing two lines in one line, the new
// file's name and folder (Restricted Mode keeps it in the output folder), and which stored score the
// runtime may reuse to place the text.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkTypedTarget, drawnBaseName, drawnImageFolder, intendedText, targetForInputBox } from '../extension/jobs/drawTextFlow.ts';
import { candidateNames } from '../runtime/files/newFiles.ts';
import { drawnFileName, reusableScore } from '../runtime/jobs/drawTextJob.ts';
import { targetTextValidator } from '../runtime/protocol/runtimeProtocol.ts';
import { isValid, validateParams } from '../runtime/protocol/paramsValidation.ts';
import { legibilityChunkText, parseLegibilityChunk, type LegibilityScore } from '../runtime/png/letterpressRecord.ts';
import { normaliseTargetText } from '../runtime/protocol/targetText.ts';
import { formatGenerationParameters } from '../runtime/png/generationParameters.ts';

const score: LegibilityScore = {
  target: 'OPEN 24/7',
  ocrText: 'OPEM 2417',
  cer: 0.25,
  exactMatch: false,
  wholeCer: 0.3,
  ocrConfidence: 61,
  bbox: { left: 40, top: 30, width: 100, height: 24 },
};
const parameters = formatGenerationParameters({ prompt: 'a sign that says "BEAN" and \'THERE\'', steps: 4, sampler: 'DDIM', cfgScale: 7.5, seed: 1, width: 512, height: 512 });

test('the text offered: the OCR record’s target first, else what the prompt quotes, else nothing', () => {
  assert.equal(intendedText({ parameters, letterpress: legibilityChunkText({ legibility: score }) }), 'OPEN 24/7');
  assert.equal(intendedText({ parameters }), 'BEAN\nTHERE');
  assert.equal(intendedText({ parameters, letterpress: 'not json' }), 'BEAN\nTHERE');
  assert.equal(intendedText({ parameters: formatGenerationParameters({ prompt: 'a cat', steps: 4, sampler: 'DDIM', cfgScale: 7.5, seed: 1, width: 64, height: 64 }) }), undefined);
  assert.equal(intendedText({}), undefined);
});

test('two lines go through the one-line box as \\n and come back as a line break', () => {
  const typed = targetForInputBox('SALE\n50% OFF');
  assert.equal(typed, 'SALE\\n50% OFF');
  assert.equal(normaliseTargetText(typed), 'SALE\n50% OFF');
  assert.ok(isValid(targetTextValidator, typed), 'the runtime accepts the typed form and normalises it the same way');
});

test('the typed text is checked in the box and again in the runtime, with the same limits', () => {
  assert.equal(checkTypedTarget('OPEN'), undefined);
  assert.match(checkTypedTarget('  \\n ') ?? '', /Type the exact text/);
  assert.equal(checkTypedTarget('A'.repeat(200)), undefined);
  assert.match(checkTypedTarget('A'.repeat(201)) ?? '', /201 characters: at most 200/);
  assert.ok(isValid(targetTextValidator, '  OPEN   24/7 '));
  assert.ok(isValid(targetTextValidator, ` ${'A'.repeat(200)}  `), 'counted as drawn: surrounding spaces are trimmed');
  for (const [bad, problem] of [
    ['', /is empty/],
    [' \n ', /is empty/],
    ['A'.repeat(201), /is 201 characters long; at most 200/],
    ['A'.repeat(100_000), /more than 800 characters long; at most 200/],
    [42, /must be text/],
  ] as const) {
    assert.match(validateParams(targetTextValidator, bad)?.problem ?? '', problem, String(bad).slice(0, 20));
  }
});

test('the new file is <stem>-text.png, then -text-2.png…; hidden or empty stems get a name', () => {
  assert.equal(drawnBaseName('/w/assets/generated/open-24-7.png'), 'open-24-7-text');
  const names = candidateNames(drawnBaseName('/w/a/logo.PNG'), '.png');
  assert.deepEqual([names.next().value, names.next().value, names.next().value], ['logo-text.png', 'logo-text-2.png', 'logo-text-3.png']);
  assert.equal(drawnBaseName('/w/.hidden.png'), 'hidden-text');
  assert.equal(drawnBaseName('/w/..png'), 'image-text');
  assert.equal(drawnFileName('/w/a/open.png'), 'open-text.png');
  assert.equal(drawnFileName('/w/a/..png'), 'image-text.png');
});

test('the folder: beside the original inside the workspace; in Restricted Mode only inside the output folder; else the output folder', () => {
  const root = join('/', 'w');
  const outputFolder = join(root, 'assets', 'generated');
  const inOutput = join(outputFolder, 'candidates', 'a.png');
  const inDocs = join(root, 'docs', 'a.png');
  const outside = join('/', 'home', 'me', 'a.png');
  const where = (imagePath: string, trusted: boolean) => drawnImageFolder({ imagePath, workspaceRoots: [root], outputFolder, trusted });
  assert.equal(where(inOutput, true), join(outputFolder, 'candidates'));
  assert.equal(where(inDocs, true), join(root, 'docs'));
  assert.equal(where(outside, true), outputFolder);
  assert.equal(where(inOutput, false), join(outputFolder, 'candidates'));
  assert.equal(where(inDocs, false), outputFolder);
  assert.equal(where(outside, false), outputFolder);
  // A sibling whose name starts like the root is not inside it.
  assert.equal(drawnImageFolder({ imagePath: join('/', 'w2', 'a.png'), workspaceRoots: [root], outputFolder, trusted: true }), outputFolder);
});

test('a stored score places the text only when it scored the same words and is complete', () => {
  const stored = parseLegibilityChunk(legibilityChunkText({ legibility: score }));
  assert.deepEqual(reusableScore(stored, 'OPEN 24/7')?.bbox, score.bbox);
  assert.equal(reusableScore(stored, 'CLOSED'), null, 'scored for other words');
  assert.equal(reusableScore(null, 'OPEN 24/7'), null);
  const noBox = parseLegibilityChunk(legibilityChunkText({ legibility: { ...score, bbox: null } }));
  assert.equal(reusableScore(noBox, 'OPEN 24/7')?.bbox, null, 'OCR found nothing like it: the position decides');
  const broken = parseLegibilityChunk(JSON.stringify({ legibility: { ...score, bbox: { left: 'x' } } }));
  assert.equal(reusableScore(broken, 'OPEN 24/7'), null);
  const old = parseLegibilityChunk(JSON.stringify({ legibility: { target: 'OPEN 24/7', cer: 0.25, exactMatch: false } }));
  assert.equal(reusableScore(old, 'OPEN 24/7'), null, 'a record without the reading is read again');
});
