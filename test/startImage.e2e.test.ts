// Image-to-image and model-native text repair in real VS Code (code-server, the packaged .vsix),
// driven in Chromium with the tiny fixture model: Generate from Image… on a PNG of the Explorer,
// Variations… on a gallery card, Fix text as a job row that repaints the text region, and
// layout-first text from the form's "Text in the image". The tiny model's random weights spell
// nothing, so these prove the machinery runs end to end (files, records, rows), not legibility.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FrameLocator } from 'playwright-core';
import { legibilityChunkText, parseLegibilityChunk } from '../runtime/png/letterpressRecord.ts';
import { encodeRgbPng } from '../runtime/png/encodePng.ts';
import { formatGenerationParameters, parseGenerationParameters } from '../runtime/png/generationParameters.ts';
import { addPngTextChunk, readPngTextChunks } from '../runtime/png/pngTextChunks.ts';
import { parseStartImageRecord } from '../runtime/png/startImageRecord.ts';
import { CodeServerSession, waitUntil } from './e2e/codeServerSession.ts';
import { galleryLocators } from './e2e/galleryLocators.ts';
import { tinyModelDir } from './fixturePaths.ts';

const minute = 60_000;
const generated = 'assets/generated';
let session: CodeServerSession;
let modelCopy: string;
let gallery: FrameLocator;

/** A PNG with generation parameters (and optionally an OCR record), as Letterpress writes them. */
async function writeImage(relativePath: string, size: number, prompt: string, seed: number, legibility?: string): Promise<void> {
  const pixels = new Float32Array(size * size * 3).map((_, i) => ((i * 7) % 255) / 255);
  const parameters = formatGenerationParameters({ prompt, steps: 4, sampler: 'DDIM', cfgScale: 7.5, seed, width: size, height: size });
  const png = await encodeRgbPng(pixels, size, size, { parameters });
  await writeFile(join(session.workspace, relativePath), legibility ? addPngTextChunk(png, 'letterpress', legibility) : png);
}

/** PNGs of the output folder (top level) not in `before`, waited for. */
async function newImages(before: readonly string[], what: string, count = 1): Promise<string[]> {
  return waitUntil(async () => {
    const now = (await readdir(join(session.workspace, generated)).catch(() => [] as string[])).filter((f) => f.endsWith('.png') && !before.includes(f));
    return now.length >= count ? now.sort() : undefined;
  }, 4 * minute, what);
}

async function outputFiles(): Promise<string[]> {
  return (await readdir(join(session.workspace, generated)).catch(() => [] as string[])).filter((f) => f.endsWith('.png'));
}

const { card, field, choose, toolbarClick } = galleryLocators(() => gallery);

async function openGallery(): Promise<void> {
  const tab = session.page.locator('.tab', { hasText: 'Letterpress Gallery' });
  if (await tab.count()) await tab.first().click();
  else await session.runCommand('Letterpress: Open Gallery');
  gallery = session.page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
  await gallery.locator('#prompt').waitFor({ state: 'visible', timeout: 2 * minute });
}

describe('start images and text repair in real VS Code', { timeout: 15 * minute }, () => {
  before(async () => {
    modelCopy = await mkdtemp(join(tmpdir(), 'letterpress-e2e-start-model-'));
    await cp(tinyModelDir, join(modelCopy, 'tiny-sd2'), { recursive: true });
    session = await CodeServerSession.start({
      name: 'start-image',
      files: { 'notes.md': '# Notes\n' },
      settings: {
        'letterpress.model': join(modelCopy, 'tiny-sd2'),
        'letterpress.steps': 4,
        'letterpress.device': 'cpu',
        'letterpress.fp16': false,
        'letterpress.candidates': 1,
      },
    });
    await writeImage('sign.png', 128, 'a shop sign that says "OPEN"', 21);
  });

  after(async () => {
    await session?.close();
    if (modelCopy) await rm(modelCopy, { recursive: true, force: true });
  });

  test('Generate from Image… on a PNG of the Explorer: prompt prefilled from its parameters, strength and count asked, a PNG with Denoising strength and its start image recorded', async () => {
    await session.step('generate-from-image', async () => {
      const row = session.page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'sign.png' }).first();
      await row.waitFor({ state: 'visible', timeout: minute });
      const before = await outputFiles();
      await session.contextMenu(row, 'Generate from Image…', '1-explorer-menu');
      const promptBox = session.page.locator('.quick-input-widget', { hasText: 'Generate from sign.png (1/3)' });
      await promptBox.waitFor({ state: 'visible', timeout: minute });
      assert.equal(await promptBox.locator('input').first().inputValue(), 'a shop sign that says "OPEN"', 'prefilled from the parameters chunk');
      await promptBox.locator('input').first().fill('a neon sign that says "OPEN"');
      await promptBox.locator('input').first().press('Enter');
      await session.answerInput('Generate from sign.png (2/3)', '0.6');
      await session.page.locator('.quick-input-widget', { hasText: 'Generate from sign.png (3/3)' }).waitFor({ state: 'visible' });
      await session.pick('1 image');
      const [made] = await newImages(before, 'the image made from sign.png');
      const chunks = readPngTextChunks(await readFile(join(session.workspace, generated, made!)));
      const parameters = parseGenerationParameters(chunks.parameters ?? '');
      assert.equal(parameters.prompt, 'a neon sign that says "OPEN"');
      assert.match(chunks.parameters ?? '', /Denoising strength: 0\.6/);
      assert.deepEqual([parameters.width, parameters.height], [128, 128], 'the start image’s own size');
      const source = parseStartImageRecord(chunks.letterpress);
      assert.equal(source?.mode, 'img2img');
      assert.equal(source?.image.path, 'sign.png', 'recorded relative to the workspace');
      // It opens like a text-to-image result.
      await session.page.locator('.tab.active', { hasText: made! }).waitFor({ state: 'visible', timeout: minute });
      await session.screenshot('2-generated-from-image');
    });
  });

  test('Variations… on a gallery card: asks the strength, the job row runs, the new card says where it came from', async () => {
    await session.step('variations', async () => {
      await openGallery();
      const [made] = (await outputFiles()).filter((f) => f !== 'sign.png');
      const id = `${generated}/${made}`;
      await card(id).waitFor({ state: 'visible', timeout: minute });
      // Provenance of the image made above.
      assert.equal((await card(id).locator('.provenance').textContent())?.trim(), 'from sign.png, strength 0.6');
      const before = await outputFiles();
      await toolbarClick(id, 'variations');
      await session.answerInput(`Variations of ${made}`, '0.5');
      const row = gallery.locator('.job', { hasText: 'a neon sign that says "OPEN"' }).first();
      await gallery.locator('.job[data-state="done"], .job[data-state="failed"]').first().waitFor({ state: 'visible', timeout: 4 * minute });
      assert.equal(await row.getAttribute('data-state'), 'done', (await row.textContent()) ?? '');
      const [variation] = await newImages(before, 'the variation');
      const chunks = readPngTextChunks(await readFile(join(session.workspace, generated, variation!)));
      assert.match(chunks.parameters ?? '', /Denoising strength: 0\.5/);
      assert.equal(parseStartImageRecord(chunks.letterpress)?.image.path, id);
      const varied = card(`${generated}/${variation}`);
      await varied.locator('.provenance', { hasText: `from ${made}, strength 0.5` }).waitFor({ state: 'visible', timeout: minute });
      await session.screenshot('3-variation');
    });
  });

  test('Fix text runs the inpainting repair as a job row (repaint steps, the repair read by OCR) and writes <name>-text.png; the original is untouched', async () => {
    await session.step('fix-text', async () => {
      await openGallery();
      const record = legibilityChunkText({ legibility: { target: 'FIX', ocrText: 'FlX', cer: 0.34, exactMatch: false, wholeCer: 0.34, ocrConfidence: 40, bbox: { left: 40, top: 100, width: 170, height: 50 } } });
      await writeImage(`${generated}/board.png`, 256, 'a wooden board that says "FIX"', 31, record);
      const original = await readFile(join(session.workspace, generated, 'board.png'));
      const id = `${generated}/board.png`;
      await card(id).locator('.badge.legibility', { hasText: 'CER 0.34' }).waitFor({ state: 'visible', timeout: minute });
      // Every line the row shows, however fast the runtime goes.
      await gallery.locator('body').evaluate(() => {
        const seen = ((window as any).__fix = [] as string[]);
        new MutationObserver(() => {
          const text = document.querySelector('.job[data-kind="drawText"][data-state="running"] .job-progress')?.textContent ?? '';
          if (text && seen.at(-1) !== text) seen.push(text);
        }).observe(document.body, { subtree: true, childList: true, characterData: true });
      });
      await toolbarClick(id, 'drawText');
      const input = session.page.locator('.quick-input-widget', { hasText: 'Draw Exact Text on board.png' }).locator('input').first();
      await input.waitFor({ state: 'visible', timeout: minute });
      assert.equal(await input.inputValue(), 'FIX');
      await input.press('Enter');
      const row = gallery.locator('.job[data-kind="drawText"]').first();
      await row.locator('.job-prompt', { hasText: 'Fix text on board.png' }).waitFor({ state: 'visible', timeout: minute });
      await gallery.locator('.job[data-kind="drawText"][data-state="done"], .job[data-kind="drawText"][data-state="failed"]').first().waitFor({ state: 'visible', timeout: 4 * minute });
      assert.equal(await row.getAttribute('data-state'), 'done', (await row.textContent()) ?? '');
      const seen = await gallery.locator('body').evaluate(() => (window as any).__fix as string[]);
      assert.ok(seen.some((line) => /^Repainting the text · Step \d+\/\d+/.test(line)), `the row showed the repaint steps: ${seen.join(' | ')}`);
      assert.ok(seen.some((line) => line.startsWith('Reading repair') || line.startsWith('Repair')), `the repair was read: ${seen.join(' | ')}`);
      const fixed = join(session.workspace, generated, 'board-text.png');
      assert.ok(existsSync(fixed), 'board-text.png beside board.png');
      const fixedRecord = parseLegibilityChunk(readPngTextChunks(await readFile(fixed)).letterpress ?? '');
      assert.equal(fixedRecord?.legibility.target, 'FIX');
      // Random weights spell nothing: the plate comes last, over the original.
      assert.equal(fixedRecord?.exactTextFallback, true);
      assert.deepEqual(await readFile(join(session.workspace, generated, 'board.png')), original, 'the original is only read');
      await card(`${generated}/board-text.png`).waitFor({ state: 'visible', timeout: minute });
      await session.screenshot('4-fixed-text');
    });
  });

  test('layout-first text from the form with "Text in the image" set: the kept image was made from a drawn layout (or its repair)', async () => {
    await session.step('layout-first', async () => {
      await session.updateSettings({ 'letterpress.textLayout': 'always' });
      await openGallery();
      const before = await outputFiles();
      await field('prompt').fill('a minimal poster');
      await field('target-text').fill('HELLO');
      await choose('preset', 'Custom…');
      await field('width').fill('128');
      await field('height').fill('128');
      await field('steps').fill('4');
      await choose('candidates', '1 (just check the text)');
      await gallery.locator('#generate').click();
      const row = gallery.locator('.job', { hasText: 'a minimal poster' }).first();
      await gallery.locator('.job[data-state="done"], .job[data-state="failed"]', { hasText: 'a minimal poster' }).first().waitFor({ state: 'visible', timeout: 4 * minute });
      assert.equal(await row.getAttribute('data-state'), 'done', (await row.textContent()) ?? '');
      const [made] = await newImages(before, 'the layout-first image');
      const chunks = readPngTextChunks(await readFile(join(session.workspace, generated, made!)));
      const record = parseLegibilityChunk(chunks.letterpress ?? '');
      assert.equal(record?.legibility.target, 'HELLO', 'the form’s text was checked');
      assert.ok(record?.mode === 'layout' || record?.mode === 'repair', `made from a layout: ${record?.mode}`);
      assert.match(chunks.parameters ?? '', /Denoising strength: /);
      assert.ok(['layout', 'inpaint'].includes(parseStartImageRecord(chunks.letterpress)?.mode ?? ''), 'its start image is the drawn layout (or its repair)');
      await session.screenshot('5-layout-first');
    });
  });
});
