// Letterpress installed from its .vsix in real VS Code (code-server), driven through the UI in
// Chromium: Generate Image… from the palette, Generate Image from Comment in TypeScript and
// Markdown, Manage Model Cache…, and a runtime killed in the middle of a job.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { faviconSizes, iconSizes } from '../runtime/export/iconSet.ts';
import { listCachedGraphs } from '../runtime/graphCache/graphCache.ts';
import { parseGenerationParameters } from '../runtime/png/generationParameters.ts';
import { readPngTextChunks } from '../runtime/png/pngTextChunks.ts';
import { CodeServerSession, waitUntil } from './e2e/codeServerSession.ts';
import { tinyModelDir } from './fixturePaths.ts';
import { startHubServer, type HubServer } from './hubServer.ts';

const minute = 60_000;
let session: CodeServerSession;
let modelCopy: string;
let hub: HubServer;

const files = {
  'src/banner.ts': ['export const title = "Letterpress";', '// image 64x64: a badge that says "TS OK"', 'export {};', ''].join('\n'),
  'docs/README.md': ['# Docs', '', '<!-- image 64x64: a banner that says "MD OK" -->', '', 'Some text.', ''].join('\n'),
};

async function waitForFile(relativePath: string, timeoutMs = 3 * minute): Promise<string> {
  const path = join(session.workspace, relativePath);
  await waitUntil(() => (existsSync(path) ? true : undefined), timeoutMs, relativePath);
  return path;
}

describe('Letterpress commands in real VS Code', { timeout: 10 * minute }, () => {
  before(async () => {
    modelCopy = await mkdtemp(join(tmpdir(), 'letterpress-e2e-model-'));
    await cp(tinyModelDir, join(modelCopy, 'tiny-sd2'), { recursive: true });
    // A local stand-in for huggingface.co, for the first-run download.
    hub = await startHubServer();
    session = await CodeServerSession.start({
      name: 'host',
      files,
      // A graph cache of this session's own: the suite's shared one holds other files' graphs, and the
      // cache pick lists rows lazily, so a row far down its list would never be drawn.
      env: { HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: join(modelCopy, 'hub-cache'), LETTERPRESS_CACHE: join(modelCopy, 'graph-cache') },
      settings: {
        'letterpress.model': join(modelCopy, 'tiny-sd2'),
        'letterpress.steps': 2,
        'letterpress.device': 'cpu',
        'letterpress.seed': 42,
        'letterpress.fp16': false,
      },
    });
    await session.screenshot('0-started');
  });

  after(async () => {
    await session?.close();
    await hub?.close();
    if (modelCopy) await rm(modelCopy, { recursive: true, force: true });
  });

  test('Generate Image… writes the PNG with its parameters into assets/generated and opens it', () =>
    session.step('generate-image-writes-the-png-with-its-p', async () => {
    await session.runCommand('Letterpress: Generate Image…');
    await session.pick('Custom');
    await session.answerInput('Custom Size', '64x64');
    await session.answerInput('(2/3)', 'a sign that says "HELLO E2E"');
    await session.answerInput('(3/3)', 'blurry');
    const png = await waitForFile('assets/generated/hello-e2e.png');
    const parameters = parseGenerationParameters(readPngTextChunks(await readFile(png)).parameters ?? '');
    assert.equal(parameters.prompt, 'a sign that says "HELLO E2E"');
    assert.equal(parameters.negativePrompt, 'blurry');
    assert.equal(parameters.steps, 2);
    assert.equal(parameters.seed, 42);
    assert.equal(parameters.width, 64);
    await session.page.locator('.tab', { hasText: 'hello-e2e.png' }).waitFor({ state: 'visible' });
    await session.page.locator('.statusbar-item', { hasText: 'Letterpress: CPU' }).waitFor({ state: 'visible' });
    // The quoted text was read back by OCR inside the packaged runtime: score in the file and the notification.
    const record = JSON.parse(readPngTextChunks(await readFile(png)).letterpress ?? 'null') as { legibility?: { target?: string } } | null;
    assert.equal(record?.legibility?.target, 'HELLO E2E');
    const result = session.page.locator('.notification-list-item', { hasText: '“HELLO E2E” read as' }).first();
    await result.waitFor({ state: 'visible' });
    await session.screenshot('1-generated');
    // The text is off: the notification offers to draw it on this image, beside it, without generating again.
    await result.locator('.monaco-button', { hasText: 'Draw Exact Text' }).click();
    const input = session.page.locator('.quick-input-widget', { hasText: 'Draw Exact Text on hello-e2e.png' }).locator('input').first();
    await input.waitFor({ state: 'visible' });
    assert.equal(await input.inputValue(), 'HELLO E2E', 'prefilled with the text the prompt quotes');
    // On the input itself: focus may still be in the image preview's frame, which swallows keys.
    await input.press('Enter');
    const drawn = readPngTextChunks(await readFile(await waitForFile('assets/generated/hello-e2e-text.png')));
    assert.equal((JSON.parse(drawn.letterpress ?? 'null') as { exactTextFallback?: boolean } | null)?.exactTextFallback, true);
    assert.equal(drawn.parameters, readPngTextChunks(await readFile(png)).parameters);
    }));

  test('Manage Model Cache… lists the converted graphs and removes the one picked', () =>
    session.step('manage-model-cache', async () => {
      const model = await realpath(join(modelCopy, 'tiny-sd2'));
      const graphs = async () => (await listCachedGraphs({ ...process.env, LETTERPRESS_CACHE: join(modelCopy, 'graph-cache') })).graphs.filter((g) => g.model === model);
      const before = await graphs();
      const unet = before.find((g) => g.component === 'unet' && g.provider === 'cpu');
      assert.ok(unet, `the generation above left a UNet graph: ${JSON.stringify(before)}`);
      const widget = session.page.locator('.quick-input-widget', { hasText: 'Letterpress model cache' });
      // A notification arriving as the palette closes can take the Enter: run it again then.
      for (let attempt = 1; ; attempt++) {
        await session.runCommand('Letterpress: Manage Model Cache…');
        try {
          await widget.waitFor({ state: 'visible', timeout: 20_000 });
          break;
        } catch (error) {
          if (attempt === 3) throw error;
        }
      }
      for (const g of before) await widget.locator('.monaco-list-row', { hasText: `${g.component} · ${g.precision}` }).first().waitFor({ state: 'visible' });
      await session.screenshot('manage-model-cache');
      const row = widget.locator('.monaco-list-row', { hasText: 'unet · fp32 · cpu' }).first();
      // A click on a row of a multi-select pick toggles its checkbox.
      await row.click();
      await widget.locator('.quick-input-count', { hasText: '1 Selected' }).waitFor({ state: 'visible' });
      await widget.locator('.monaco-button', { hasText: 'OK' }).first().click();
      const dialog = session.page.locator('.monaco-dialog-box', { hasText: 'Remove 1 converted graph' });
      await dialog.waitFor({ state: 'visible' });
      await dialog.locator('.monaco-button', { hasText: 'Remove' }).first().click();
      await session.page.locator('.notification-list-item', { hasText: 'removed 1 of the converted graphs' }).first().waitFor({ state: 'visible' });
      assert.deepEqual((await graphs()).map((g) => g.id).sort(), before.filter((g) => g.id !== unet.id).map((g) => g.id).sort());
    }));

  test('with best of 2 and the exact-text fallback on, the kept image reads exactly and both candidates are kept', () =>
    session.step('best-of-two-with-exact-text-fallback', async () => {
    await session.updateSettings({ 'letterpress.candidates': 2, 'letterpress.exactTextFallback': true });
    try {
      await session.runCommand('Letterpress: Generate Image…');
      await session.pick('Custom');
      await session.answerInput('Custom Size', '256x128');
      await session.answerInput('(2/3)', 'a shop sign that says "OPEN"');
      await session.answerInput('(3/3)', '');
      const png = await waitForFile('assets/generated/open.png');
      await session.page.locator('.notification-list-item', { hasText: '“OPEN” drawn exactly: none of the 2' }).first().waitFor({ state: 'visible', timeout: 2 * minute });
      const record = JSON.parse(readPngTextChunks(await readFile(png)).letterpress ?? 'null') as {
        legibility: { exactMatch: boolean };
        exactTextFallback?: boolean;
        candidates?: { count: number; seeds: number[] };
      };
      assert.equal(record.legibility.exactMatch, true);
      assert.equal(record.exactTextFallback, true);
      assert.deepEqual(record.candidates?.seeds, [42, 43]);
      for (const seed of [42, 43]) await waitForFile(`assets/generated/candidates/open-seed-${seed}.png`);
      await session.screenshot('1b-exact-text');

      // Export Image… on the image open in the editor: the icon set lands in exports/open/.
      await session.page.locator('.tab.active', { hasText: 'open.png' }).waitFor({ state: 'visible' });
      await session.runCommand('Letterpress: Export Image…');
      await session.pick('Icon set + favicon.ico');
      const favicon = await readFile(await waitForFile('assets/generated/exports/open/favicon.ico'));
      assert.deepEqual([favicon.readUInt16LE(2), favicon.readUInt16LE(4)], [1, faviconSizes.length], 'an icon resource with every favicon size');
      for (const size of iconSizes) await waitForFile(`assets/generated/exports/open/icon-${size}x${size}.png`);
      await session.page.locator('.notification-list-item', { hasText: 'Exported 8 files to assets/generated/exports/open' }).first().waitFor({ state: 'visible' });
    } finally {
      await session.updateSettings({ 'letterpress.candidates': 0, 'letterpress.exactTextFallback': false });
    }
    }));

  test('Generate Image from Comment in TypeScript inserts a comment with the relative path', () =>
    session.step('generate-image-from-comment-in-typescrip', async () => {
    await session.openFile('src/banner.ts', 2);
    await session.runCommand('Letterpress: Generate Image from Comment');
    await waitForFile('assets/generated/ts-ok.png');
    await session.page.locator('.view-line', { hasText: '// image: ../assets/generated/ts-ok.png' }).waitFor({ state: 'visible' });
    await session.screenshot('2-comment-typescript');
    await session.runCommand('File: Save All Files');
    const text = await waitUntil(async () => {
      const content = await readFile(join(session.workspace, 'src/banner.ts'), 'utf8');
      return content !== files['src/banner.ts'] ? content : undefined;
    }, 30_000, 'src/banner.ts to be saved');
    assert.deepEqual(text.split('\n'), [
      'export const title = "Letterpress";',
      '// image 64x64: a badge that says "TS OK"',
      '// image: ../assets/generated/ts-ok.png',
      'export {};',
      '',
    ]);
    }));

  test('Generate Image from Comment in Markdown inserts an image reference', () =>
    session.step('generate-image-from-comment-in-markdown', async () => {
    await session.openFile('docs/README.md', 3);
    await session.runCommand('Letterpress: Generate Image from Comment');
    await waitForFile('assets/generated/md-ok.png');
    await session.page.locator('.view-line', { hasText: '](../assets/generated/md-ok.png)' }).waitFor({ state: 'visible' });
    await session.screenshot('3-comment-markdown');
    await session.runCommand('File: Save All Files');
    const text = await waitUntil(async () => {
      const content = await readFile(join(session.workspace, 'docs/README.md'), 'utf8');
      return content !== files['docs/README.md'] ? content : undefined;
    }, 30_000, 'docs/README.md to be saved');
    assert.deepEqual(text.split('\n').slice(2, 4), [
      '<!-- image 64x64: a banner that says "MD OK" -->',
      '![a banner that says "MD OK"](../assets/generated/md-ok.png)',
    ]);
    }));

  test('a long prompt warns about the token limit; Cancel on the progress stops the job in the runtime', () =>
    session.step('cancel-and-token-warning', async () => {
      await session.updateSettings({ 'letterpress.steps': 150 });
      await session.runCommand('Letterpress: Generate Image…');
      await session.pick('Custom');
      await session.answerInput('Custom Size', '256x256');
      const promptBox = session.page.locator('.quick-input-widget', { hasText: '(2/3)' });
      await promptBox.waitFor({ state: 'visible' });
      await promptBox.locator('input').fill(`a poster with ${'many words '.repeat(40)}`);
      await promptBox.getByText(/\d+\/75 tokens/).waitFor({ state: 'visible' });
      await session.screenshot('3b-token-warning');
      await promptBox.locator('input').fill('a poster that says "CANCEL ME"');
      await session.page.keyboard.press('Enter');
      await session.answerInput('(3/3)', '');
      const progress = session.notification(/step \d+\/150/);
      await progress.waitFor({ state: 'visible', timeout: 2 * minute });
      const pids = session.runtimePids();
      await progress.getByRole('button', { name: 'Cancel' }).click();
      await session.notification('image generation cancelled').waitFor({ state: 'visible', timeout: minute });
      await session.screenshot('3c-cancelled');
      assert.deepEqual(session.runtimePids(), pids, 'the runtime keeps running: the job was cancelled, not the process');
      assert.ok(!existsSync(join(session.workspace, 'assets/generated/cancel-me.png')));
      await session.runCommand('Notifications: Clear All Notifications');
    }));

  test('a runtime killed mid-job gives a clear error, and the next job succeeds', () =>
    session.step('a-runtime-killed-mid-job-gives-a-clear-e', async () => {
    await session.updateSettings({ 'letterpress.steps': 150 });
    await session.runCommand('Letterpress: Generate Image…');
    await session.pick('Custom');
    await session.answerInput('Custom Size', '256x256');
    await session.answerInput('(2/3)', 'a poster that says "SLOW JOB"');
    await session.answerInput('(3/3)', '');
    await session.notification(/step \d+\/150/).waitFor({ state: 'visible', timeout: 2 * minute });
    const pids = session.runtimePids();
    assert.equal(pids.length, 1, `one runtime process, found ${pids.join(', ')}`);
    process.kill(pids[0]!, 'SIGKILL');
    await session.notification(/runtime was killed \(SIGKILL\)/).waitFor({ state: 'visible', timeout: minute });
    await session.screenshot('4-runtime-killed');
    assert.ok(!existsSync(join(session.workspace, 'assets/generated/slow-job.png')), 'no image from the killed job');

    await session.updateSettings({ 'letterpress.steps': 2 });
    await session.runCommand('Letterpress: Generate Image…');
    await session.pick('Icon');
    await session.answerInput('(2/3)', 'a sign that says "AFTER CRASH"');
    await session.answerInput('(3/3)', '');
    const png = await waitForFile('assets/generated/after-crash-icon.png');
    const parameters = parseGenerationParameters(readPngTextChunks(await readFile(png)).parameters ?? '');
    assert.equal(parameters.width, 512);
    assert.notDeepEqual(session.runtimePids(), pids, 'ran on a restarted runtime');
    await session.screenshot('5-after-restart');
    }));

  test('first run: offers to download a missing model, shows progress, then generates', () =>
    session.step('first-run-download', async () => {
      await session.runCommand('Notifications: Clear All Notifications');
      await session.updateSettings({ 'letterpress.model': hub.repoId });
      await session.runCommand('Letterpress: Generate Image…');
      await session.pick('Icon');
      await session.answerInput('(2/3)', 'a sign that says "FIRST RUN"');
      await session.answerInput('(3/3)', '');
      const offer = session.notification(`Letterpress needs the model ${hub.repoId}`);
      await offer.waitFor({ state: 'visible', timeout: minute });
      await session.screenshot('6-download-offer');
      await offer.getByRole('button', { name: 'Download' }).click();
      const png = await waitForFile('assets/generated/first-run-icon.png');
      assert.ok(readPngTextChunks(await readFile(png)).parameters?.includes('FIRST RUN'));
      const snapshots = join(modelCopy, 'hub-cache', `models--${hub.repoId.replace('/', '--')}`, 'snapshots');
      assert.ok(existsSync(snapshots), 'the model landed in the hub cache layout');
      await session.screenshot('7-first-run-done');
    }));
});
