// The gallery panel in real VS Code (code-server, the packaged .vsix) driven in Chromium: open it,
// generate with the tiny fixture model while watching the step counter and previews, see the new
// thumbnail, insert a reference into a Markdown file, fix an image's text, delete an image, and check that a prompt
// holding HTML stays text. The webview is an iframe inside an iframe of the workbench page.
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FrameLocator } from 'playwright-core';
import sharp from 'sharp';
import { legibilityChunkText, parseLegibilityChunk } from '../runtime/png/letterpressRecord.ts';
import { encodeRgbPng } from '../runtime/png/encodePng.ts';
import { formatGenerationParameters, parseGenerationParameters } from '../runtime/png/generationParameters.ts';
import { addPngTextChunk, readPngTextChunks } from '../runtime/png/pngTextChunks.ts';
import { CodeServerSession, waitUntil } from './e2e/codeServerSession.ts';
import { galleryLocators } from './e2e/galleryLocators.ts';
import { tinyModelDir } from './fixturePaths.ts';

const minute = 60_000;
const xssPrompt = 'a sign that says <img src=x onerror=alert(1)>';
const readme = ['# Demo', '', 'The logo:', '', ''].join('\n');
let session: CodeServerSession;
let modelCopy: string;
let gallery: FrameLocator;
const dialogs: string[] = [];

async function writeImage(relativePath: string, prompt: string, seed: number): Promise<void> {
  const path = join(session.workspace, relativePath);
  const pixels = new Float32Array(64 * 64 * 3).map((_, i) => ((i * 7) % 255) / 255);
  const parameters = formatGenerationParameters({ prompt, steps: 4, sampler: 'DDIM', cfgScale: 7.5, seed, width: 64, height: 64 });
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, await encodeRgbPng(pixels, 64, 64, { parameters }));
}

const { card, field, choose, toolbarClick } = galleryLocators(() => gallery);

describe('the gallery panel in real VS Code', { timeout: 10 * minute }, () => {
  before(async () => {
    modelCopy = await mkdtemp(join(tmpdir(), 'letterpress-e2e-gallery-model-'));
    await cp(tinyModelDir, join(modelCopy, 'tiny-sd2'), { recursive: true });
    session = await CodeServerSession.start({
      name: 'gallery',
      files: { 'README.md': readme },
      settings: {
        'letterpress.model': join(modelCopy, 'tiny-sd2'),
        'letterpress.steps': 12,
        'letterpress.device': 'cpu',
        'letterpress.fp16': false,
        'letterpress.keepCandidates': true,
      },
    });
    session.page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await writeImage('assets/generated/xss.png', xssPrompt, 7);
    await writeImage('assets/generated/older/plain.png', 'a plain old sign that says "OLD"', 8);
    // The editor the reference goes into: opened before the panel takes the focus.
    await session.openFile('README.md', 4);
  });

  after(async () => {
    await session?.close();
    if (modelCopy) await rm(modelCopy, { recursive: true, force: true });
  });

  test('Open Gallery shows the workspace images; a prompt holding HTML stays text', async () => {
    await session.runCommand('Letterpress: Open Gallery');
    gallery = session.page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    await gallery.locator('#prompt').waitFor({ state: 'visible', timeout: minute });
    await card('assets/generated/xss.png').waitFor({ state: 'visible' });
    await card('assets/generated/older/plain.png').waitFor({ state: 'visible' });
    assert.equal(await card('assets/generated/xss.png').locator('.caption').textContent(), xssPrompt);
    assert.equal(await gallery.locator('img[src="x"]').count(), 0);
    // Thumbnails come through the webview resource URIs the CSP allows.
    await waitUntil(
      () => card('assets/generated/xss.png').locator('img.thumb').evaluate((img: HTMLImageElement) => (img.complete && img.naturalWidth === 64 ? true : undefined)),
      30_000,
      'the thumbnail to load',
    );
    assert.deepEqual(dialogs, []);
    await session.screenshot('1-open');
    // The codicon toolbar shows over the hovered card's thumbnail, in the codicon font.
    const xss = card('assets/generated/xss.png');
    await xss.hover();
    await xss.locator('.card-toolbar').waitFor({ state: 'visible' });
    assert.deepEqual(await xss.locator('.card-toolbar button').evaluateAll((buttons) => buttons.map((b) => b.getAttribute('data-action'))), ['insertReference', 'open', 'vary', 'variations', 'more']);
    assert.equal(await xss.locator('.codicon-insert').evaluate((icon) => getComputedStyle(icon, '::before').fontFamily), 'codicon');
    await session.screenshot('1b-hover-toolbar');
  });

  test('generating from the form shows the step counter advancing, then the new thumbnail', async () => {
    // Record every step text and preview the page shows, however fast the steps go.
    await gallery.locator('body').evaluate(() => {
      const seen = ((window as any).__seen = { steps: [] as string[], previews: 0, running: false });
      new MutationObserver(() => {
        if (document.querySelector('.job[data-state="running"]')) seen.running = true;
        const text = document.querySelector('.job .job-progress')?.textContent ?? '';
        if (/Step \d+\//.test(text) && seen.steps.at(-1) !== text) seen.steps.push(text);
        if (document.querySelector('.job img.preview')) seen.previews++;
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await field('prompt').fill('a sign that says "GALLERY"');
    await gallery.locator('#token-count', { hasText: /^\d+\/75 tokens$/ }).waitFor({ state: 'visible', timeout: minute });
    await choose('preset', 'Custom…');
    await field('width').fill('64');
    await field('height').fill('64');
    await field('seed').fill('5');
    await gallery.locator('#generate').click();
    // A 12-step job on the tiny model can pass through "running" between two polls of a locator,
    // so the observer above records that state; the screenshot shows whichever state is current.
    await gallery.locator('.job[data-state="running"], .job[data-state="done"]').first().waitFor({ state: 'visible', timeout: 3 * minute });
    await session.screenshot('2-running');
    await gallery.locator('.job[data-state="done"]').waitFor({ state: 'visible', timeout: 3 * minute });
    const seen = await gallery.locator('body').evaluate(() => (window as any).__seen as { steps: string[]; previews: number; running: boolean });
    assert.ok(seen.running, 'the job was shown as running');
    const steps = seen.steps.map((s) => Number(/Step (\d+)\/12/.exec(s)?.[1]));
    assert.ok(steps.length >= 3, `saw steps ${seen.steps.join(' | ')}`);
    assert.ok(steps.every((n, i) => i === 0 || n > steps[i - 1]!), `steps go up: ${steps.join(', ')}`);
    assert.ok(seen.previews > 0, 'a latent preview was shown while sampling');

    const newCard = card('assets/generated/gallery.png');
    await newCard.waitFor({ state: 'visible', timeout: minute });
    assert.equal(await newCard.locator('.caption').textContent(), 'a sign that says "GALLERY"');
    assert.equal(await gallery.locator('.card').first().getAttribute('data-id'), 'assets/generated/gallery.png', 'newest first');
    const png = await readFile(join(session.workspace, 'assets/generated/gallery.png'));
    const parameters = parseGenerationParameters(readPngTextChunks(png).parameters ?? '');
    assert.equal(parameters.prompt, 'a sign that says "GALLERY"');
    assert.equal(parameters.seed, 5);
    assert.equal(parameters.steps, 12);
    assert.equal(parameters.width, 64);
    await session.screenshot('3-generated');
  });

  test('best of 2 on a quoted prompt: OCR runs in the packaged runtime, the card shows the score, the loser is marked', async () => {
    await field('prompt').fill('a sign that says "HI"');
    await field('steps').fill('4');
    await choose('candidates', 'Best of 2');
    await gallery.locator('#generate').click();
    const row = gallery.locator('.job', { hasText: '"HI"' });
    await gallery.locator('.job[data-state="done"], .job[data-state="failed"]', { hasText: '"HI"' }).waitFor({ state: 'visible', timeout: 3 * minute });
    assert.equal(await row.getAttribute('data-state'), 'done', (await row.textContent()) ?? '');
    const png = await readFile(join(session.workspace, 'assets/generated/hi.png'));
    const record = parseLegibilityChunk(readPngTextChunks(png).letterpress ?? '');
    assert.ok(record, 'the kept image carries its OCR record');
    assert.equal(record.legibility.target, 'HI');
    const badge = card('assets/generated/hi.png').locator('.badge.legibility');
    await badge.waitFor({ state: 'visible', timeout: minute });
    const expected = record.legibility.exactMatch ? '✓ text' : `CER ${record.legibility.cer.toFixed(2)}`;
    assert.equal(await badge.textContent(), `${expected}${record.exactTextFallback ? ' (drawn)' : ''}`);
    assert.match((await row.locator('.job-progress').textContent()) ?? '', new RegExp(`^(best of ${record.candidates?.count} · )?(✓ exact|CER \\d\\.\\d\\d)`));
    if ((record.candidates?.count ?? 1) > 1) {
      const loser = gallery.locator('.card[data-id^="assets/generated/candidates/hi-seed-"]').first();
      await loser.waitFor({ state: 'visible', timeout: minute });
      assert.equal(await row.locator('img.candidate').count(), record.candidates!.count - 1, 'the job row shows the losers too');
      assert.equal(await loser.locator('.candidate-tag').textContent(), 'candidate');
    }
    await session.screenshot('3b-best-of-2');
    // The detail pane: the large image, its parameters and OCR reading, the candidates beside it.
    await card('assets/generated/hi.png').click();
    const pane = gallery.locator('#detail');
    await pane.locator('.detail-title', { hasText: 'hi.png' }).waitFor({ state: 'visible' });
    assert.equal(await pane.locator('dd', { hasText: 'a sign that says "HI"' }).count(), 1);
    assert.equal(await pane.locator('dt', { hasText: 'OCR read' }).count(), 1);
    assert.equal(await pane.locator('.detail-candidates button').count(), (record.candidates?.count ?? 1) - 1);
    await waitUntil(() => pane.locator('img.detail-preview').evaluate((img: HTMLImageElement) => (img.complete && img.naturalWidth > 0 ? true : undefined)), 30_000, 'the large image');
    await session.screenshot('3c-detail-pane');
    await pane.locator('button[data-action="close"]').click();
    await pane.waitFor({ state: 'hidden' });
    await choose('candidates', 'Auto');
    await field('steps').fill('12');
  });

  test('Insert puts a Markdown image reference at the cursor of the last editor', async () => {
    await toolbarClick('assets/generated/gallery.png', 'insertReference');
    const expected = '![a sign that says "GALLERY"](assets/generated/gallery.png)';
    await session.page.locator('.view-line', { hasText: expected }).waitFor({ state: 'visible', timeout: 30_000 });
    await session.screenshot('4-inserted');
    // Keyboard focus may still be inside the webview's frame; the palette key goes to the workbench.
    await session.page.locator('.tab', { hasText: 'README.md' }).click();
    await session.runCommand('File: Save All Files');
    const text = await waitUntil(async () => {
      const content = await readFile(join(session.workspace, 'README.md'), 'utf8');
      return content !== readme ? content : undefined;
    }, 30_000, 'README.md to be saved');
    assert.deepEqual(text.split('\n'), ['# Demo', '', 'The logo:', expected, '']);
  });

  test('at half width the panel stacks the form above the grid, nothing cut short; a card dragged into the Markdown editor inserts its reference where it is dropped', async () => {
    const page = session.page;
    // Side by side: the README on the left, the gallery on the right (about 520 px wide).
    await page.locator('.tab', { hasText: 'Letterpress Gallery' }).click();
    await session.runCommand('View: Move Editor into Right Group');
    await page.locator('.tab', { hasText: 'README.md' }).click();
    await session.runCommand('View: Close Other Editors in Group');
    gallery = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    const source = card('assets/generated/xss.png');
    await source.waitFor({ state: 'visible', timeout: minute });
    const layout = await gallery.locator('body').evaluate((body) => {
      // (No named functions in here: the test's TypeScript transform would wrap them in a helper the page lacks.)
      const form = body.querySelector('#generate-form')!.getBoundingClientRect();
      // Every field of the form's rows ends inside the form, and no select is narrower than its text needs.
      const fields = [...body.querySelectorAll('.row > .field')].map((f) => f.getBoundingClientRect());
      return {
        width: body.clientWidth,
        formBottom: body.querySelector('.generate')!.getBoundingClientRect().bottom,
        browseTop: body.querySelector('.browse')!.getBoundingClientRect().top,
        overflowing: fields.filter((f) => f.right > form.right + 1 || f.width < 100).length,
        gridColumns: getComputedStyle(body.querySelector('.gallery')!).gridTemplateColumns.split(' ').length,
      };
    });
    assert.ok(layout.width < 860, `half width: ${layout.width}px`);
    assert.ok(layout.browseTop >= layout.formBottom, `stacked: the gallery (top ${layout.browseTop}) below the form (bottom ${layout.formBottom})`);
    assert.equal(layout.overflowing, 0, 'no field cut short or past the form');
    assert.ok(layout.gridColumns >= 3, `the grid uses the width: ${layout.gridColumns} columns`);
    await session.screenshot('4c-half-width');

    // The drag goes through Chromium's own drag and drop (DevTools intercepts the drag the card's
    // dragstart starts, with its data, then drops it on the editor). Playwright's mouse gives up on a
    // drag that has not started one tick after the first move, which a loaded machine missed: here the
    // drag's start is awaited, and the press is tried again if none came.
    // An earlier insert can leave the editor scrolled sideways (its cursor at the end of a long
    // line), which puts line 2's left end out of sight: back to the top left first.
    await page.locator('.tab', { hasText: 'README.md' }).click();
    await page.keyboard.press('Control+Home');
    // Best effort: a click on the tab can leave focus on the tab (seen in a loaded run), and the drop
    // below only needs line 2 in sight, which the check after the drop asserts.
    await page.locator('.statusbar-item', { hasText: 'Ln 1, Col 1' }).first().waitFor({ state: 'visible', timeout: 5_000 }).catch(() => undefined);
    await source.scrollIntoViewIfNeeded();
    const from = (await source.locator('.thumb').boundingBox())!;
    const line = page.locator('.monaco-editor .view-line').nth(1);
    const to = (await line.boundingBox())!;
    const [x0, y0, x1, y1] = [from.x + from.width / 2, from.y + from.height / 2, to.x + 4, to.y + to.height / 2];
    // The same reference Insert writes: Markdown, relative to the README, the prompt as alt text.
    const expected = '![a sign that says <img src=x onerror=alert(1)>](assets/generated/xss.png)';
    // Two CI runs on a loaded machine saw a drop that inserted nothing (not reproduced here, loaded or
    // not): the drop is dispatched once more if nothing came within 20 s. A second drop cancels the
    // editor's pending one; a double insert that did happen fails the count check below, or, if the
    // first insert lands after that check, the strict locator of the undo further down.
    for (let dropTry = 1; ; dropTry++) {
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Input.setInterceptDrags', { enabled: true });
      try {
        let data: unknown;
        for (let attempt = 1; data === undefined; attempt++) {
          const intercepted = new Promise<unknown>((resolve) => cdp.once('Input.dragIntercepted', (event) => resolve(event.data)));
          await cdp.send('Input.dispatchMouseEvent', { type: 'mouseMoved', x: x0, y: y0 });
          await cdp.send('Input.dispatchMouseEvent', { type: 'mousePressed', x: x0, y: y0, button: 'left', buttons: 1, clickCount: 1 });
          for (let step = 1; step <= 6; step++) {
            await cdp.send('Input.dispatchMouseEvent', { type: 'mouseMoved', x: x0 - 4 * step, y: y0 + step, button: 'left', buttons: 1 });
          }
          data = await Promise.race([intercepted, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 15_000))]);
          if (data === undefined) {
            await cdp.send('Input.dispatchMouseEvent', { type: 'mouseReleased', x: x0, y: y0, button: 'left', buttons: 0, clickCount: 1 });
            if (attempt === 3) throw new Error('the card\'s drag did not start in three tries');
          }
        }
        await cdp.send('Input.dispatchDragEvent', { type: 'dragEnter', x: x1, y: y1, data: data as never });
        for (let step = 0; step < 3; step++) await cdp.send('Input.dispatchDragEvent', { type: 'dragOver', x: x1, y: y1 + step, data: data as never });
        await session.screenshot('4d-dragging');
        await cdp.send('Input.dispatchDragEvent', { type: 'drop', x: x1, y: y1 + 2, data: data as never });
        await cdp.send('Input.dispatchMouseEvent', { type: 'mouseReleased', x: x1, y: y1 + 2, button: 'left', buttons: 0, clickCount: 1 });
      } finally {
        await cdp.send('Input.setInterceptDrags', { enabled: false }).catch(() => undefined);
        await cdp.detach().catch(() => undefined);
      }
      try {
        await page.locator('.view-line', { hasText: expected }).first().waitFor({ state: 'visible', timeout: 20_000 });
        break;
      } catch (error) {
        const lines = await page.locator('.monaco-editor .view-line').allTextContents();
        process.stderr.write(`drop ${dropTry} inserted nothing; editor lines: ${JSON.stringify(lines)}; line 2 at ${JSON.stringify(to)}\n`);
        await session.screenshot(`4e-drop-${dropTry}-missing`);
        if (dropTry === 2) throw error;
      }
    }
    assert.equal(await page.locator('.view-line', { hasText: expected }).count(), 1, 'one reference inserted');
    // (The editor renders spaces as no-break spaces.)
    assert.equal((await page.locator('.monaco-editor .view-line').nth(1).textContent())?.replace(/\u00a0/g, ' '), expected);
    await session.screenshot('4e-dropped');
    // Undone, so README.md is as the other tests expect it.
    await page.locator('.tab', { hasText: 'README.md' }).click();
    await page.keyboard.press('Control+Z');
    await page.locator('.view-line', { hasText: expected }).waitFor({ state: 'detached', timeout: 30_000 });
    // One editor group again, as the other tests were written for.
    await page.locator('.tab', { hasText: 'Letterpress Gallery' }).click();
    await session.runCommand('View: Move Editor into Left Group');
    await page.locator('.tab', { hasText: 'README.md' }).click();
    gallery = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
  });

  test('Export writes an icon set with the right sizes into exports/, which the gallery leaves out', async () => {
    await session.page.locator('.tab', { hasText: 'Letterpress Gallery' }).click();
    // VS Code's own context menu for webviews, from the card's data-vscode-context.
    await session.contextMenu(card('assets/generated/gallery.png'), 'Export…', '4a-context-menu');
    await session.pick('Icon set + favicon.ico');
    await session.notification('Exported 8 files to assets/generated/exports/gallery').waitFor({ state: 'visible', timeout: minute });
    const folder = join(session.workspace, 'assets/generated/exports/gallery');
    for (const size of [16, 32, 48, 64, 128, 256, 512]) {
      const meta = await sharp(join(folder, `icon-${size}x${size}.png`)).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ['png', size, size]);
    }
    assert.ok(existsSync(join(folder, 'favicon.ico')));
    await session.screenshot('4b-exported');
    // A poll later the gallery still has no card from exports/.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    assert.equal(await gallery.locator('.card[data-id^="assets/generated/exports/"]').count(), 0);
  });

  test('Export… offers SVG (traced): the traced file has the image\'s size as its viewBox', async () => {
    await session.page.locator('.tab', { hasText: 'Letterpress Gallery' }).click();
    await session.contextMenu(card('assets/generated/gallery.png'), 'Export…');
    await session.pick('SVG (traced), 2 colours');
    await session.notification(/Exported 1 file to assets\/generated\/exports\/gallery/).waitFor({ state: 'visible', timeout: minute });
    const svg = await readFile(join(session.workspace, 'assets/generated/exports/gallery/gallery.svg'), 'utf8');
    const { width, height } = await sharp(join(session.workspace, 'assets/generated/gallery.png')).metadata();
    assert.match(svg, new RegExp(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`));
    await session.screenshot('4f-exported-svg');
  });

  test('Fix text on a card whose text is off: a job in the panel\'s list writes <stem>-text.png beside it, with the drawn badge', async () => {
    await session.page.locator('.tab', { hasText: 'Letterpress Gallery' }).click();
    // A 256×256 image whose OCR record says the text came out wrong, as the runtime writes it.
    const pixels = new Float32Array(256 * 256 * 3).map((_, i) => ((i * 7) % 255) / 255);
    const parameters = formatGenerationParameters({ prompt: 'a shop sign that says "FIX ME"', steps: 4, sampler: 'DDIM', cfgScale: 7.5, seed: 11, width: 256, height: 256 });
    const record = legibilityChunkText({ legibility: { target: 'FIX ME', ocrText: 'FlX', cer: 0.5, exactMatch: false, wholeCer: 0.5, ocrConfidence: 40, bbox: null } });
    await writeFile(join(session.workspace, 'assets/generated/sign.png'), addPngTextChunk(await encodeRgbPng(pixels, 256, 256, { parameters }), 'letterpress', record));
    const original = card('assets/generated/sign.png');
    await original.locator('.badge.legibility', { hasText: 'CER 0.50' }).waitFor({ state: 'visible', timeout: 30_000 });
    assert.equal(await card('assets/generated/older/plain.png').locator('button[data-action="drawText"]').count(), 0, 'only cards with a score that is off');
    await toolbarClick('assets/generated/sign.png', 'drawText');
    const input = session.page.locator('.quick-input-widget', { hasText: 'Draw Exact Text on sign.png' }).locator('input').first();
    await input.waitFor({ state: 'visible', timeout: 30_000 });
    assert.equal(await input.inputValue(), 'FIX ME', 'prefilled with the text the image was meant to show');
    // Every line the drawing's job row shows, however fast the runtime goes.
    await gallery.locator('body').evaluate(() => {
      const details = ((window as any).__drawDetails = [] as string[]);
      new MutationObserver(() => {
        const text = document.querySelector('.job[data-kind="drawText"][data-state="running"] .job-progress')?.textContent ?? '';
        if (text && details.at(-1) !== text) details.push(text);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    // On the input itself: focus may still be in the image preview's frame, which swallows keys.
    await input.press('Enter');
    // The drawing is a job of the panel's list, not a notification.
    const row = gallery.locator('.job[data-kind="drawText"]');
    await row.locator('.job-prompt', { hasText: 'Fix text on sign.png: “FIX ME”' }).waitFor({ state: 'visible', timeout: 30_000 });
    await gallery.locator('.job[data-kind="drawText"][data-state="done"], .job[data-kind="drawText"][data-state="failed"]').waitFor({ state: 'visible', timeout: 2 * minute });
    assert.equal(await row.getAttribute('data-state'), 'done', (await row.textContent()) ?? '');
    assert.equal(await session.page.locator('.notification-toast', { hasText: 'fixing the text “FIX ME”' }).count(), 0, 'no progress notification');
    const details = await gallery.locator('body').evaluate(() => (window as any).__drawDetails as string[]);
    assert.ok(details.includes('Drawing “FIX ME”…'), `the row said: ${details.join(' | ')}`);
    const drawn = join(session.workspace, 'assets/generated/sign-text.png');
    assert.ok(existsSync(drawn), 'sign-text.png is written beside sign.png');
    const chunks = readPngTextChunks(await readFile(drawn));
    const drawnRecord = parseLegibilityChunk(chunks.letterpress ?? '');
    assert.equal(drawnRecord?.exactTextFallback, true);
    assert.equal(parseGenerationParameters(chunks.parameters ?? '').seed, 11, 'the generation parameters are kept');
    // Done: the row shows the new image and its score, as the card does.
    await row.locator('.job-picture img').waitFor({ state: 'visible', timeout: minute });
    const score = drawnRecord!.legibility.exactMatch ? '✓ exact' : `CER ${drawnRecord!.legibility.cer.toFixed(2)}`;
    assert.equal(await row.locator('.job-progress').textContent(), `${score} (drawn)`);
    const badge = card('assets/generated/sign-text.png').locator('.badge.legibility');
    await badge.waitFor({ state: 'visible', timeout: minute });
    assert.equal(await badge.textContent(), '✓ text (drawn)');
    assert.equal(await card('assets/generated/sign-text.png').locator('button[data-action="drawText"]').count(), 0);
    await session.screenshot('4c-text-drawn');
  });

  test('Delete asks, then removes the image from disk and from the gallery', async () => {
    await session.page.locator('.tab', { hasText: 'Letterpress Gallery' }).click();
    await session.contextMenu(card('assets/generated/xss.png'), 'Delete');
    const dialog = session.page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible' });
    assert.match((await dialog.textContent()) ?? '', /Delete xss\.png\?/);
    await session.screenshot('5-delete-confirm');
    await dialog.locator('.monaco-button', { hasText: 'Move to Trash' }).click();
    // Where the server has no trash, the panel asks before deleting for good.
    const permanent = session.page.locator('.monaco-dialog-box', { hasText: 'Delete it permanently?' });
    const gone = () => (existsSync(join(session.workspace, 'assets/generated/xss.png')) ? undefined : true);
    await waitUntil(async () => {
      if (await permanent.isVisible()) await permanent.locator('.monaco-button', { hasText: 'Delete Permanently' }).click();
      return gone();
    }, 30_000, 'xss.png to be deleted');
    await card('assets/generated/xss.png').waitFor({ state: 'detached', timeout: 30_000 });
    assert.ok(existsSync(join(session.workspace, 'assets/generated/gallery.png')), 'only the chosen image is deleted');
    await session.screenshot('6-deleted');
  });

  test('queued and running jobs can be cancelled from the panel', async () => {
    await field('search').fill('');
    // Self-contained after "Open Gallery" (run alone with --test-name-pattern to repeat it).
    await choose('preset', 'Custom…');
    await field('prompt').fill('a poster that says "SLOW"');
    await field('width').fill('256');
    await field('height').fill('256');
    await field('steps').fill('150');
    await gallery.locator('#generate').click();
    await field('prompt').fill('a poster that says "NEVER"');
    await gallery.locator('#generate').click();
    const slow = gallery.locator('.job', { hasText: 'SLOW' });
    const never = gallery.locator('.job', { hasText: 'NEVER' });
    await slow.locator('.job-progress', { hasText: /Step \d+\/150/ }).waitFor({ state: 'visible', timeout: 2 * minute });
    assert.equal(await never.getAttribute('data-state'), 'queued');
    await session.screenshot('7-two-jobs');
    await never.locator('button[data-action="cancel"]').click();
    await gallery.locator('.job[data-state="cancelled"]', { hasText: 'NEVER' }).waitFor({ state: 'visible' });
    await slow.locator('button[data-action="cancel"]').click();
    await gallery.locator('.job[data-state="cancelled"]', { hasText: 'SLOW' }).waitFor({ state: 'visible', timeout: minute });
    assert.ok(!existsSync(join(session.workspace, 'assets/generated/slow.png')), 'a cancelled job writes nothing');
    assert.ok(!existsSync(join(session.workspace, 'assets/generated/never.png')));
  });

  test('after a window reload the panel comes back with its search', async () => {
    await field('search').fill('GALLERY');
    await session.updateSettings({ 'workbench.colorTheme': 'Default Light Modern' });
    await session.runCommand('Developer: Reload Window');
    await session.page.locator('.monaco-workbench').waitFor({ timeout: 2 * minute });
    gallery = session.page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    await card('assets/generated/gallery.png').waitFor({ state: 'visible', timeout: 2 * minute });
    assert.equal(await field('search').inputValue(), 'GALLERY');
    assert.equal(await gallery.locator('.card').count(), 1);
    await session.screenshot('8-restored-light-theme');
  });

  test('a file written by another tool appears without a refresh', async () => {
    await field('search').fill('');
    await writeImage('assets/generated/from-cli.png', 'made by the CLI', 9);
    await card('assets/generated/from-cli.png').waitFor({ state: 'visible', timeout: 30_000 });
    await field('search').fill('cli');
    await waitUntil(async () => ((await gallery.locator('.card').count()) === 1 ? true : undefined), 10_000, 'the search to filter');
    assert.deepEqual(dialogs, []);
  });

  test('card actions: Open, Copy path, Copy prompt, Reveal, Regenerate (same image) and Vary (another seed)', async () => {
    await field('search').fill('');
    const source = card('assets/generated/gallery.png');
    const page = session.page;
    // code-server writes the clipboard through the browser's Clipboard API; the test reads it back the same way.
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(page.url()).origin });
    const clipboard = () => page.evaluate(() => navigator.clipboard.readText());
    await page.evaluate(() => navigator.clipboard.writeText('before'));

    await session.contextMenu(source, 'Copy Path');
    assert.equal(await waitUntil(async () => ((await clipboard()) !== 'before' ? clipboard() : undefined), 10_000, 'the path on the clipboard'), 'assets/generated/gallery.png');
    await session.contextMenu(source, 'Copy Prompt');
    assert.equal(
      await waitUntil(async () => ((await clipboard()) !== 'assets/generated/gallery.png' ? clipboard() : undefined), 10_000, 'the prompt on the clipboard'),
      'a sign that says "GALLERY"',
    );

    await session.contextMenu(source, 'Reveal in Explorer View');
    await page.locator('.explorer-folders-view .monaco-list-row.selected', { hasText: 'gallery.png' }).waitFor({ state: 'visible', timeout: 30_000 });

    await toolbarClick('assets/generated/gallery.png', 'open');
    await page.locator('.tab.active', { hasText: 'gallery.png' }).waitFor({ state: 'visible', timeout: 30_000 });
    // VS Code's image preview shows the file in its own webview.
    await page.frameLocator('iframe.webview.ready').last().frameLocator('#active-frame').locator('img').first().waitFor({ state: 'visible', timeout: 30_000 });
    await session.screenshot('9-opened');
    assert.equal(await page.locator('.notification-toast .codicon-error').count(), 0, 'no action reported an error');

    const original = readPngTextChunks(await readFile(join(session.workspace, 'assets/generated/gallery.png')));
    const generated = async (action: 'regenerate' | 'vary', file: string) => {
      await page.locator('.tab', { hasText: 'Letterpress Gallery' }).click();
      // Regenerate from the context menu (the host asks the page to build the job), Vary from the toolbar.
      if (action === 'regenerate') await session.contextMenu(source, 'Regenerate (Same Seed)');
      else await toolbarClick('assets/generated/gallery.png', 'vary');
      const path = join(session.workspace, 'assets/generated', file);
      await waitUntil(() => (existsSync(path) ? true : undefined), 3 * minute, `${file} to be written`);
      await card(`assets/generated/${file}`).waitFor({ state: 'visible', timeout: minute });
      return { chunks: readPngTextChunks(await readFile(path)), path };
    };
    const again = await generated('regenerate', 'gallery-2.png');
    assert.equal(again.chunks.parameters, original.parameters, 'Regenerate: the same prompt, settings and seed');
    assert.equal(parseLegibilityChunk(again.chunks.letterpress ?? '')?.legibility.target, 'GALLERY', 'the text checked again');
    const pixels = async (path: string) => (await sharp(path).raw().toBuffer());
    assert.ok((await pixels(again.path)).equals(await pixels(join(session.workspace, 'assets/generated/gallery.png'))), 'the same seed gives the same image');

    const varied = await generated('vary', 'gallery-3.png');
    const before = parseGenerationParameters(original.parameters ?? '');
    const after = parseGenerationParameters(varied.chunks.parameters ?? '');
    assert.notEqual(after.seed, before.seed, 'Vary draws another seed');
    assert.deepEqual({ ...after, seed: before.seed, fields: { ...after.fields, Seed: before.fields.Seed } }, before, 'Vary keeps every other setting');
    await session.screenshot('10-regenerated-varied');
    assert.equal(await page.locator('.notification-toast .codicon-error').count(), 0);
    assert.deepEqual(dialogs, []);
  });
});
