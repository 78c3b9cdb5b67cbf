// The built webview bundle in real Chromium under the panel's real CSP, served from a loopback
// HTTP server. Only `acquireVsCodeApi` (which VS Code injects) is stood in for: it records what the
// page posts, and the test plays the host by posting messages into the page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { galleryHtml } from '../extension/gallery/galleryHtml.ts';
import { encodeSmallRgbPng } from '../runtime/pipeline/latentPreview.ts';
import { ImagesChanged, InitState, JobUpdated, TokensCounted } from '../webview/protocol.ts';
import type { GalleryImage, GenerationRequest, HostToWebviewMessage, JobView } from '../webview/protocol.ts';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const artifacts = resolve('test-artifacts');
const xssPrompt = 'a sign that says <img src=x onerror=alert(1)>';
const nonce = 'testNonce0123456789abcd';

let server: Server;
let origin: string;
let browser: Browser;
let page: Page;
const dialogs: string[] = [];

function squarePng(r: number, g: number, b: number, size = 16): Buffer {
  const rgb = new Uint8Array(size * size * 3);
  for (let i = 0; i < rgb.length; i += 3) rgb.set([r, g, b], i);
  return encodeSmallRgbPng(rgb, size, size);
}

before(async () => {
  const bundle = resolve('dist/webview.js');
  assert.ok(existsSync(bundle), 'dist/webview.js is missing: run `npm run build` first (npm test does)');
  const files: Record<string, [string, Buffer]> = {
    '/dist/webview.js': ['text/javascript', readFileSync(bundle)],
    '/media/gallery.css': ['text/css', readFileSync(resolve('media/gallery.css'))],
    '/dist/codicons/codicon.css': ['text/css', readFileSync(resolve('dist/codicons/codicon.css'))],
    '/dist/codicons/codicon.ttf': ['font/ttf', readFileSync(resolve('dist/codicons/codicon.ttf'))],
    '/img/xss.png': ['image/png', squarePng(200, 40, 40)],
    '/img/plain.png': ['image/png', squarePng(40, 40, 200)],
  };
  server = createServer((req, res) => {
    if (req.url === '/') {
      const html = galleryHtml({
        cspSource: origin,
        nonce,
        scriptUri: `${origin}/dist/webview.js`,
        styleUri: `${origin}/media/gallery.css`,
        codiconUri: `${origin}/dist/codicons/codicon.css`,
      });
      // What VS Code provides inside a webview: acquireVsCodeApi, here recording posted messages.
      const stub = `<script nonce="${nonce}">
        window.__posted = []; window.__state = undefined;
        window.acquireVsCodeApi = () => ({
          postMessage: (m) => window.__posted.push(JSON.parse(JSON.stringify(m))),
          getState: () => window.__state,
          setState: (s) => { window.__state = s; },
        });
        // VS Code opens its context menu on this event and reads data-vscode-context up from the target.
        window.__menus = [];
        window.addEventListener('contextmenu', (e) => {
          const holder = e.target.closest && e.target.closest('[data-vscode-context]');
          window.__menus.push(holder ? JSON.parse(holder.dataset.vscodeContext) : null);
        });
      </script>`;
      res.writeHead(200, { 'content-type': 'text/html' }).end(html.replace('<body>', `<body>${stub}`));
      return;
    }
    const file = files[(req.url ?? '').replace(/\?.*$/, '')];
    if (!file) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': file[0] }).end(file[1]);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => (window as any).__posted.some((m: any) => m.method === 'gallery/panel/ready'));
});

after(async () => {
  await browser?.close();
  await new Promise((done) => server?.close(done));
});

/** The native input inside a @vscode-elements text field or text area (in its open shadow root). */
function field(id: string) {
  return page.locator(`#${id} input, #${id} textarea`);
}

/** Picks an option of a @vscode-elements single select as a person does: open it, click the option. */
async function choose(id: string, label: string): Promise<void> {
  await page.locator(`#${id}`).click();
  await page.locator(`#${id} li[role="option"]`, { hasText: label }).first().click();
  await page.waitForFunction(([sel, text]) => (document.querySelector(sel) as any)?.shadowRoot?.textContent.includes(text), [`#${id}`, label] as const);
}

function checked(id: string): Promise<boolean> {
  return page.locator(`#${id}`).evaluate((box: any) => box.checked === true);
}

async function send(message: HostToWebviewMessage): Promise<void> {
  await page.evaluate((m) => window.postMessage(m, '*'), message);
}

async function posted(method: string): Promise<any[]> {
  return page.evaluate((name) => (window as any).__posted.filter((m: any) => m.method === name).map((m: any) => m.params), method);
}

/** What the page was last sent as the image list (resent unchanged to check the cards stay). */
let lastImages: GalleryImage[] = [];

const images: GalleryImage[] = [
  {
    id: 'assets/generated/xss.png',
    name: 'xss.png',
    uri: '',
    thumbnailUri: '',
    mtimeMs: 2,
    size: 100,
    settings: { prompt: xssPrompt, negativePrompt: '', steps: 8, sampler: 'DDIM', scheduler: 'ddim', guidanceScale: 7.5, seed: 42, width: 512, height: 512 },
  },
  { id: 'assets/generated/plain.png', name: 'plain.png', uri: '', thumbnailUri: '', mtimeMs: 1, size: 100 },
];

test('renders the gallery with the XSS prompt as text and nothing executed', async () => {
  const withUris = images.map((i) => ({ ...i, uri: `${origin}/img/${i.name}`, thumbnailUri: `${origin}/img/${i.name}` }));
  await send(
    InitState.create({
      config: {
        outputFolder: 'assets/generated',
        presets: [
          { id: '512x512', label: 'Icon 512×512', width: 512, height: 512 },
          { id: '1024x256', label: 'Banner 1024×256', width: 1024, height: 256 },
        ],
        defaults: { steps: 4, guidanceScale: 7.5 },
        schedulers: [
          { name: 'ddim', label: 'DDIM' },
          { name: 'euler_a', label: 'Euler a' },
        ],
        canGenerate: true,
      },
      images: withUris,
      jobs: [],
    }),
  );
  const cards = page.locator('.card');
  await cards.first().waitFor();
  assert.equal(await cards.count(), 2);
  assert.equal(await cards.first().locator('.caption').textContent(), xssPrompt);
  assert.equal(await page.locator('img[src="x"]').count(), 0);
  // The thumbnails themselves load under the CSP.
  await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('.card img')].every((i) => i.complete && i.naturalWidth === 16));
  assert.deepEqual(dialogs, []);
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, 'webview-gallery.png') });
});

test('the prompt shows its token count from the host and warns past the limit', async () => {
  await field('prompt').fill('a neon sign that says "OPEN 24/7"');
  const asks = await posted('gallery/tokens/count');
  const last = asks.at(-1);
  assert.equal(last.text, 'a neon sign that says "OPEN 24/7"');
  await send(TokensCounted.create({ requestId: last.requestId, count: 12, limit: 75 }));
  await page.locator('#token-count', { hasText: '12/75 tokens' }).waitFor();
  assert.equal(await page.locator('#token-count.over').count(), 0);
  await field('prompt').fill('a neon sign that says "OPEN 24/7" '.repeat(8));
  const longAsk = (await posted('gallery/tokens/count')).at(-1);
  await send(TokensCounted.create({ requestId: longAsk.requestId, count: 96, limit: 75 }));
  await page.locator('#token-count.over', { hasText: '96/75' }).waitFor();
  await field('prompt').fill('a neon sign that says "OPEN 24/7"');
});

test('the form is usable by keyboard and submits a complete job', async () => {
  await choose('preset', 'Banner 1024×256');
  await field('steps').fill('6');
  await field('seed').fill('1234');
  await choose('scheduler', 'Euler a');
  await field('prompt').focus();
  await page.keyboard.press('Control+Enter');
  const submitted: { request: GenerationRequest }[] = await posted('gallery/job/submit');
  assert.equal(submitted.length, 1);
  assert.deepEqual(submitted[0].request, {
    prompt: 'a neon sign that says "OPEN 24/7"',
    negativePrompt: '',
    width: 1024,
    height: 256,
    steps: 6,
    guidanceScale: 7.5,
    scheduler: 'euler_a',
    seed: 1234,
    numImages: 1,
    candidates: 0,
    exactFallback: false,
  });
  assert.equal(await checked('seed-lock'), true, 'typing a seed locks it');
});

test('the text fields: the quoted text as placeholder, best of N keeps one image, the explicit text goes out', async () => {
  assert.equal(await field('target-text').getAttribute('placeholder'), 'OPEN 24/7');
  assert.equal(await page.locator('#target-text-hint').textContent(), 'OCR checks for: OPEN 24/7');
  assert.equal(await page.getByLabel('Text in the image').count(), 1, 'the field has its label');
  await field('num-images').fill('3');
  await choose('candidates', 'Best of 4');
  assert.equal(await field('num-images').isDisabled(), true);
  assert.equal(await field('num-images').inputValue(), '1');
  await page.locator('#exact-fallback').click();
  assert.equal(await checked('exact-fallback'), true);
  await field('target-text').fill('OPEN <b>ALL</b> NIGHT');
  await page.locator('#target-text-hint', { hasText: 'OCR checks for: OPEN <b>ALL</b> NIGHT' }).waitFor();
  await page.locator('#generate').click();
  const sent = (await posted('gallery/job/submit')).at(-1).request as GenerationRequest;
  assert.deepEqual([sent.text, sent.candidates, sent.exactFallback, sent.numImages], ['OPEN <b>ALL</b> NIGHT', 4, true, 1]);
  await page.screenshot({ path: join(artifacts, 'webview-text-form.png') });
  // Back to the plain form for the tests after this one.
  await field('target-text').fill('');
  await choose('candidates', 'Auto');
  await page.locator('#exact-fallback').click();
  assert.equal(await checked('exact-fallback'), false);
  assert.equal(await field('num-images').isDisabled(), false);
});

test('a running job shows its data: preview and step counter, then can be cancelled', async () => {
  const request = (await posted('gallery/job/submit'))[0].request as GenerationRequest;
  const preview = `data:image/png;base64,${squarePng(10, 200, 10, 8).toString('base64')}`;
  const job: JobView = { jobId: 'job-1', request, state: 'running', step: 2, totalSteps: 6, image: 0, elapsedMs: 1500, previewUri: preview, outputs: [] };
  await send(JobUpdated.create({ job }));
  const row = page.locator('.job[data-job-id="job-1"]');
  await row.locator('.job-progress', { hasText: 'Step 2/6' }).waitFor();
  assert.match((await row.locator('.job-progress').textContent()) ?? '', /0:02 elapsed · 0:03 left/);
  await page.waitForFunction(() => {
    const img = document.querySelector<HTMLImageElement>('.job img.preview');
    return img !== null && img.complete && img.naturalWidth === 8;
  });
  await page.screenshot({ path: join(artifacts, 'webview-job-running.png') });
  await row.locator('button[data-action="cancel"]').click();
  assert.deepEqual((await posted('gallery/job/cancel')).at(-1), { jobId: 'job-1' });
});

test('image actions, keyboard delete and search', async () => {
  const xssCard = page.locator('.card[data-id="assets/generated/xss.png"]');
  await xssCard.hover();
  await xssCard.locator('button[data-action="insertReference"]').click();
  await page.locator('.card[data-id="assets/generated/plain.png"]').focus();
  await page.keyboard.press('Delete');
  await xssCard.hover();
  await xssCard.locator('button[data-action="vary"]').click();
  assert.deepEqual(await posted('gallery/image/act'), [
    { id: 'assets/generated/xss.png', action: 'insertReference' },
    { id: 'assets/generated/plain.png', action: 'delete' },
  ]);
  const varied = (await posted('gallery/job/submit')).at(-1).request as GenerationRequest;
  assert.equal(varied.prompt, xssPrompt);
  assert.notEqual(varied.seed, 42);
  assert.equal(await page.locator('.card[data-id="assets/generated/plain.png"] button[data-action="vary"]').isDisabled(), true, 'no prompt to vary');

  await field('search').fill('sign');
  await page.waitForFunction(() => document.querySelectorAll('.card').length === 1);
  await send(ImagesChanged.create({ images: [] }));
  await page.locator('.empty', { hasText: 'No images in assets/generated yet.' }).waitFor();
});

test('malformed host messages leave the page as it was', async () => {
  const before = await page.locator('main').innerHTML();
  await page.evaluate(() => {
    window.postMessage({ method: 'gallery/images/update', params: { images: [{ id: '<b>x</b>' }] } }, '*');
    window.postMessage({ method: 'gallery/job/update', params: { job: { jobId: 'x', previewUri: 'javascript:alert(1)' } } }, '*');
    window.postMessage('not an object', '*');
  });
  await page.waitForTimeout(100);
  assert.equal(await page.locator('main').innerHTML(), before);
  assert.deepEqual(dialogs, []);
});

test('OCR scores show as badges; a losing candidate is marked and dimmed; the texts stay text', async () => {
  const legibility = { target: '<b>OPEN</b>', ocrText: 'OPEN <i>', cer: 0.3125, exactMatch: false, ocrConfidence: 80, exactTextFallback: false, candidateCount: 4, chosen: true };
  lastImages = [
    { ...images[1], id: 'assets/generated/best.png', name: 'best.png', mtimeMs: 3, legibility },
    { ...images[1], id: 'assets/generated/candidates/best-seed-7.png', name: 'best-seed-7.png', mtimeMs: 2, legibility: { ...legibility, chosen: false, cer: 0.5 } },
    { ...images[1], id: 'assets/generated/drawn.png', name: 'drawn.png', mtimeMs: 1, legibility: { ...legibility, cer: 0, exactMatch: true, exactTextFallback: true } },
  ];
  await send(ImagesChanged.create({ images: lastImages }));
  await field('search').fill('');
  const best = page.locator('.card[data-id="assets/generated/best.png"]');
  const losing = page.locator('.card[data-id="assets/generated/candidates/best-seed-7.png"]');
  await best.waitFor();
  assert.equal(await best.locator('.badge.legibility').textContent(), 'CER 0.31');
  assert.match((await best.locator('.badge.legibility').getAttribute('title')) ?? '', /Text: “<b>OPEN<\/b>”\nOCR read: “OPEN <i>”/);
  assert.equal(await best.locator('.candidate-tag').count(), 0);
  assert.equal(await losing.locator('.candidate-tag').textContent(), 'candidate');
  assert.match((await losing.getAttribute('aria-label')) ?? '', /\(candidate\)$/);
  assert.equal(await losing.locator('.thumb').evaluate((img) => getComputedStyle(img).opacity), '0.55');
  assert.equal(await page.locator('.card[data-id="assets/generated/drawn.png"] .badge.legibility.exact').textContent(), '✓ text (drawn)');
  assert.equal(await page.locator('main b, main i').count(), 0, 'the OCR texts never become markup');
  const request = (await posted('gallery/job/submit'))[0].request as GenerationRequest;
  const done: JobView = {
    jobId: 'job-best',
    request: { ...request, candidates: 4 },
    state: 'done',
    step: 6,
    totalSteps: 6,
    image: 3,
    elapsedMs: 9000,
    outputs: ['assets/generated/best.png'],
    candidates: ['assets/generated/candidates/best-seed-7.png'],
  };
  await send(JobUpdated.create({ job: { ...done, state: 'running', outputs: [], candidates: undefined, image: 1, detail: 'Reading the text of candidate 2/4' } }));
  await page.locator('.job[data-job-id="job-best"] .job-progress', { hasText: 'Candidate 2/4 · Reading the text of candidate 2/4 · 0:09 elapsed' }).waitFor();
  await send(JobUpdated.create({ job: done }));
  const row = page.locator('.job[data-job-id="job-best"]');
  await row.locator('.job-progress', { hasText: 'best of 4 · CER 0.31' }).waitFor();
  assert.equal(await row.locator('img.candidate').count(), 1);
  assert.match((await row.locator('img.candidate').getAttribute('title')) ?? '', /^Candidate that lost \(CER 0\.50\)/);
  await page.screenshot({ path: join(artifacts, 'webview-legibility.png') });
});

test('Export is in the context menu and the E key on a focused card', async () => {
  const card = page.locator('.card[data-id="assets/generated/best.png"]');
  assert.equal(await card.locator('button[data-action="export"]').count(), 0, 'not on the toolbar');
  await card.focus();
  await page.keyboard.press('e');
  await page.locator('.card[data-id="assets/generated/drawn.png"]').focus();
  await page.keyboard.press('e');
  const exports = (await posted('gallery/image/act')).filter((p) => p.action === 'export');
  assert.deepEqual(exports, [
    { id: 'assets/generated/best.png', action: 'export' },
    { id: 'assets/generated/drawn.png', action: 'export' },
  ]);
  assert.equal(await card.getAttribute('aria-keyshortcuts'), 'Enter Space Delete E ContextMenu');
});

test('a card: codicon toolbar on hover and focus only, the rest in VS Code\'s context menu (right-click, "…", Shift+F10)', async () => {
  const card = page.locator('.card[data-id="assets/generated/best.png"]');
  const toolbar = card.locator('.card-toolbar');
  await page.mouse.move(1, 1);
  await page.locator('#search').focus();
  assert.equal(await toolbar.isVisible(), false, 'hidden while the card is neither hovered nor focused');
  await card.hover();
  assert.equal(await toolbar.isVisible(), true, 'shown on hover');
  assert.deepEqual(await toolbar.locator('button').evaluateAll((buttons) => buttons.map((b) => b.getAttribute('data-action'))), ['insertReference', 'open', 'vary', 'variations', 'drawText', 'more']);
  // The icons are the codicon font, loaded under the CSP.
  await page.waitForFunction(() => document.fonts.check('16px codicon'));
  assert.equal(await toolbar.locator('.codicon-insert').evaluate((icon) => getComputedStyle(icon, '::before').fontFamily), 'codicon');
  await page.screenshot({ path: join(artifacts, 'webview-card-toolbar.png') });
  await page.mouse.move(1, 1);
  await card.focus();
  assert.equal(await toolbar.isVisible(), true, 'shown on keyboard focus');

  const menus = () => page.evaluate(() => (window as any).__menus as unknown[]);
  await card.click({ button: 'right' });
  await toolbar.locator('button[data-action="more"]').click();
  await card.focus();
  await page.keyboard.press('Shift+F10');
  const expected = {
    webviewSection: 'letterpressImage',
    letterpressImageId: 'assets/generated/best.png',
    letterpressHasPrompt: false,
    letterpressTextOff: true,
    preventDefaultContextMenuItems: true,
  };
  assert.deepEqual((await menus()).slice(-3), [expected, expected, expected]);
});

test('a dragged card carries its id in the gallery\'s own type only (the host\'s drop provider writes the reference)', async () => {
  const data = await page.locator('.card[data-id="assets/generated/best.png"]').evaluate((card) => {
    const transfer = new DataTransfer();
    card.dispatchEvent(new DragEvent('dragstart', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    return { types: [...transfer.types], id: transfer.getData('application/vnd.letterpress.gallery-image') };
  });
  assert.deepEqual(data, { types: ['application/vnd.letterpress.gallery-image'], id: 'assets/generated/best.png' });
  assert.equal(await page.locator('.card[data-id="assets/generated/best.png"]').getAttribute('draggable'), 'true');
});

test('cards and job rows keep their identity across updates: a Cancel button is never replaced mid-job', async () => {
  const request = (await posted('gallery/job/submit'))[0].request as GenerationRequest;
  const job: JobView = { jobId: 'job-steady', request: { ...request, steps: 50 }, state: 'queued', step: 0, totalSteps: 50, image: 0, elapsedMs: 0, outputs: [] };
  await send(JobUpdated.create({ job }));
  const row = page.locator('.job[data-job-id="job-steady"]');
  await row.waitFor();
  await page.evaluate(() => {
    (window as any).__cancel = document.querySelector('.job[data-job-id="job-steady"] button[data-action="cancel"]');
    (window as any).__card = document.querySelector('.card[data-id="assets/generated/best.png"]');
    (window as any).__removed = 0;
    new MutationObserver((records) => {
      for (const r of records) for (const n of r.removedNodes) if (n instanceof Element && (n.matches('.job, .card') || n.querySelector('button[data-action="cancel"]'))) (window as any).__removed++;
    }).observe(document.body, { subtree: true, childList: true });
  });
  const preview = `data:image/png;base64,${squarePng(10, 200, 10, 8).toString('base64')}`;
  for (let step = 1; step <= 30; step++) {
    await send(JobUpdated.create({ job: { ...job, state: 'running', step, elapsedMs: step * 100, previewUri: preview } }));
  }
  // The host sends the whole list again after a poll: equal images keep their cards.
  await send(ImagesChanged.create({ images: structuredClone(lastImages) }));
  await send(JobUpdated.create({ job: { ...job, state: 'running', step: 31, elapsedMs: 3100 } }));
  await row.locator('.job-progress', { hasText: 'Step 31/50' }).waitFor();
  assert.equal(await row.locator('progress').evaluate((bar: HTMLProgressElement) => [bar.value, bar.max].join('/')), '31/50');
  const same = await page.evaluate(() => ({
    cancel: (window as any).__cancel === document.querySelector('.job[data-job-id="job-steady"] button[data-action="cancel"]'),
    card: (window as any).__card === document.querySelector('.card[data-id="assets/generated/best.png"]'),
    removed: (window as any).__removed as number,
  }));
  assert.deepEqual(same, { cancel: true, card: true, removed: 0 });
  await row.locator('button[data-action="cancel"]').click();
  assert.deepEqual((await posted('gallery/job/cancel')).at(-1), { jobId: 'job-steady' });
  await send(JobUpdated.create({ job: { ...job, state: 'cancelled', step: 31 } }));
  await row.locator('.job-state', { hasText: 'Cancelled' }).waitFor();
  assert.equal(await row.locator('button[data-action="cancel"]').count(), 0);
  assert.equal(await row.locator('progress').count(), 0);
});

test('the detail pane: click a card for the large image, its parameters, the OCR reading and the candidates beside it', async () => {
  const best = page.locator('.card[data-id="assets/generated/best.png"]');
  await best.click({ position: { x: 10, y: 100 } });
  const pane = page.locator('#detail');
  await pane.waitFor({ state: 'visible' });
  assert.equal(await pane.locator('.detail-title').textContent(), 'best.png');
  const params = await pane.locator('dt').allTextContents();
  assert.ok(params.includes('File') && params.includes('Text') && params.includes('OCR read'), params.join(', '));
  assert.equal(await pane.locator('dd', { hasText: 'OPEN <i>' }).count(), 1, 'what OCR read, as text');
  assert.equal(await pane.locator('.detail-candidates button').count(), 1, 'the losing candidate beside it');
  assert.equal(await best.getAttribute('aria-current'), 'true');
  await page.screenshot({ path: join(artifacts, 'webview-detail.png') });
  await pane.locator('.detail-candidates button').click();
  await pane.locator('.detail-title', { hasText: 'best-seed-7.png' }).waitFor();
  assert.equal(await page.locator('.card[data-id="assets/generated/candidates/best-seed-7.png"]').getAttribute('aria-current'), 'true');
  await pane.locator('button[data-action="close"]').click();
  await pane.waitFor({ state: 'hidden' });
  assert.equal(await page.locator('main b, main i').count(), 0);
});

test('Fix text is a card button only where OCR did not read the text exactly', async () => {
  const best = page.locator('.card[data-id="assets/generated/best.png"]');
  assert.match((await best.locator('button[data-action="drawText"]').getAttribute('aria-label')) ?? '', /^Fix text/);
  assert.equal(await page.locator('.card[data-id="assets/generated/drawn.png"] button[data-action="drawText"]').count(), 0, 'reads exactly');
  assert.equal(await page.locator('.card[data-id="assets/generated/candidates/best-seed-7.png"] button[data-action="drawText"]').count(), 1, 'a losing candidate can be fixed too');
  await best.hover();
  await best.locator('button[data-action="drawText"]').click();
  const fixes = (await posted('gallery/image/act')).filter((p) => p.action === 'drawText');
  assert.deepEqual(fixes, [{ id: 'assets/generated/best.png', action: 'drawText' }]);
});

test('a Fix text job has its own row: what it draws on which image, its stage, Cancel, then the drawn image or the error', async () => {
  const drawing: JobView = {
    jobId: 'job-draw',
    kind: 'drawText',
    drawText: { source: 'assets/generated/best.png', target: '<b>OPEN</b>\n24/7' },
    state: 'queued',
    step: 0,
    totalSteps: 0,
    image: 0,
    elapsedMs: 0,
    outputs: [],
  };
  await send(JobUpdated.create({ job: drawing }));
  const row = page.locator('.job[data-job-id="job-draw"]');
  await row.waitFor();
  assert.equal(await row.locator('.job-prompt').textContent(), 'Fix text on best.png: “<b>OPEN</b> / 24/7”');
  assert.equal(await row.getAttribute('data-kind'), 'drawText');
  await send(JobUpdated.create({ job: { ...drawing, state: 'running', detail: 'Drawing “<b>OPEN</b> / 24/7”…', elapsedMs: 400 } }));
  await row.locator('.job-state', { hasText: 'Drawing' }).waitFor();
  assert.equal(await row.locator('.job-progress').textContent(), 'Drawing “<b>OPEN</b> / 24/7”…');
  assert.equal(await row.locator('progress').evaluate((bar: HTMLProgressElement) => bar.position), -1, 'no steps: an indeterminate bar');
  assert.equal(await page.locator('main b').count(), 0, 'the text stays text');
  await row.locator('button[data-action="cancel"]').click();
  assert.deepEqual((await posted('gallery/job/cancel')).at(-1), { jobId: 'job-draw' });
  await send(JobUpdated.create({ job: { ...drawing, state: 'done', outputs: ['assets/generated/drawn.png'] } }));
  await row.locator('.job-progress', { hasText: '✓ exact (drawn)' }).waitFor();
  assert.equal(await row.locator('.job-picture img').count(), 1);
  assert.equal(await row.locator('button[data-action="cancel"]').count(), 0);
  await page.screenshot({ path: join(artifacts, 'webview-draw-text-job.png') });
  await send(JobUpdated.create({ job: { ...drawing, jobId: 'job-draw-2', state: 'failed', error: 'best.png is not a PNG image.' } }));
  const failed = page.locator('.job[data-job-id="job-draw-2"]');
  await failed.locator('.job-progress', { hasText: 'best.png is not a PNG image.' }).waitFor();
  assert.equal(await failed.locator('.job-state').textContent(), 'Failed');
});
