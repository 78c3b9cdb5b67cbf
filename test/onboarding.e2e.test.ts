// Onboarding in real VS Code (code-server, the packaged .vsix) driven in Chromium: the Get Started
// walkthrough, its "Download the Model" button against a local stand-in for the hub (throttled so
// the download can be watched), the status-bar item that shows the download and cancels it on a
// click, and the step ticking itself once the model is there.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CodeServerSession } from './e2e/codeServerSession.ts';
import { type HubServer, startHubServer } from './hubServer.ts';

const minute = 60_000;
let session: CodeServerSession;
let hub: HubServer;

describe('onboarding in real VS Code', { timeout: 10 * minute }, () => {
  before(async () => {
    // About 23 MB at 400 kB/s: a minute, long enough to see the item and cancel.
    hub = await startHubServer({ bytesPerSecond: 400_000 });
    session = await CodeServerSession.start({
      name: 'onboarding',
      files: { 'README.md': '# Demo\n' },
      settings: { 'letterpress.model': hub.repoId, 'letterpress.device': 'cpu' },
      env: { HF_ENDPOINT: hub.endpoint },
    });
  });

  after(async () => {
    await session?.close();
    await hub?.close();
  });

  test('the walkthrough shows its steps: the model (size, where it goes, or a local folder), a first image, the gallery, a comment, fixing text', async () => {
    const page = session.page;
    await session.runCommand('Welcome: Open Walkthrough...');
    await session.pick('Get Started with Letterpress');
    const walkthrough = page.locator('.gettingStartedContainer');
    await walkthrough.locator('.getting-started-step', { hasText: 'Get the model' }).first().waitFor({ state: 'visible', timeout: minute });
    for (const title of ['Get the model', 'Generate a first image', 'Open the gallery', 'Generate from a comment', 'Fix text']) {
      assert.equal(await walkthrough.locator('.getting-started-step', { hasText: title }).count(), 1, title);
    }
    assert.match((await walkthrough.locator('.getting-started-step', { hasText: 'Get the model' }).textContent()) ?? '', /5\.2 GB/);
    // The step's page (Markdown) loads from the packaged extension.
    await page.frameLocator('iframe.webview.ready').frameLocator('#active-frame').locator('h1', { hasText: 'Get the model' }).waitFor({ state: 'visible', timeout: minute });
    assert.equal(await session.notification(/Error reading markdown/).count(), 0);
    await session.screenshot('1-walkthrough');
  });

  test('Download the Model: a status-bar item shows the progress; a click on it cancels the download', async () => {
    const page = session.page;
    await page.locator('.gettingStartedContainer .monaco-button, .gettingStartedContainer a', { hasText: 'Download the Model' }).first().click();
    const item = page.locator('.statusbar-item', { hasText: /Model \d+%/ }).first();
    await item.waitFor({ state: 'visible', timeout: 2 * minute });
    await page.locator('.statusbar-item', { hasText: /Model [1-9]\d*%/ }).first().waitFor({ state: 'visible', timeout: minute });
    await session.screenshot('2-download-status-bar');
    await item.click();
    await session.notification('download paused').waitFor({ state: 'visible', timeout: minute });
    await page.locator('.statusbar-item', { hasText: /Model (\d+%|starting)/ }).first().waitFor({ state: 'detached', timeout: 30_000 });
    const snapshot = join(session.baseDir, 'cache', 'huggingface', 'hub', `models--${hub.repoId.replace('/', '--')}`, 'snapshots');
    assert.ok(!existsSync(snapshot) || !existsSync(join(snapshot, hub.main(), 'unet', 'diffusion_pytorch_model.safetensors')), 'the download stopped before the UNet was placed');
  });

  test('downloading again resumes and finishes; the walkthrough ticks "Get the model"', async () => {
    const page = session.page;
    hub.bytesPerSecond = 0;
    await session.runCommand('Letterpress: Download Model');
    await session.notification(/the model is ready/).waitFor({ state: 'visible', timeout: 3 * minute });
    await session.runCommand('Welcome: Open Walkthrough...');
    await session.pick('Get Started with Letterpress');
    await page.locator('.gettingStartedContainer .getting-started-step[aria-checked="true"]', { hasText: 'Get the model' }).first().waitFor({ state: 'attached', timeout: minute });
    await session.screenshot('3-walkthrough-model-ready');
  });
});
