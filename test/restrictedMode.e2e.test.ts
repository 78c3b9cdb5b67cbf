// Letterpress in Restricted Mode (an untrusted folder), from its .vsix in real VS Code: images can
// still be generated, but only into the default output folder and with the user's own model, since
// a workspace's settings could point them anywhere; generating from comments is off; drawing exact
// text on an image is on.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseLegibilityChunk } from '../runtime/png/letterpressRecord.ts';
import { readPngTextChunks } from '../runtime/png/pngTextChunks.ts';
import { CodeServerSession, waitUntil } from './e2e/codeServerSession.ts';
import { tinyModelDir } from './fixturePaths.ts';

const minute = 60_000;
let session: CodeServerSession;
let modelCopy: string;

describe('Letterpress in Restricted Mode', { timeout: 6 * minute }, () => {
  before(async () => {
    modelCopy = await mkdtemp(join(tmpdir(), 'letterpress-e2e-restricted-'));
    await cp(tinyModelDir, join(modelCopy, 'tiny-sd2'), { recursive: true });
    session = await CodeServerSession.start({
      name: 'restricted',
      untrusted: true,
      files: {
        // What a hostile repository could ship: its own output folder and model.
        '.vscode/settings.json': JSON.stringify({ 'letterpress.outputFolder': 'src/hijacked', 'letterpress.model': join(modelCopy, 'missing-model') }),
        'src/a.ts': ['// image 64x64: a badge that says "NO"', 'export {};', ''].join('\n'),
      },
      settings: {
        'letterpress.model': join(modelCopy, 'tiny-sd2'),
        'letterpress.steps': 2,
        'letterpress.device': 'cpu',
        'letterpress.seed': 7,
        'letterpress.fp16': false,
      },
    });
  });

  after(async () => {
    await session?.close();
    if (modelCopy) await rm(modelCopy, { recursive: true, force: true });
  });

  test('Generate Image… writes into the default folder with the user\'s model; comments are off', () =>
    session.step('restricted-generate', async () => {
      await session.page.getByText('Restricted Mode', { exact: false }).first().waitFor({ state: 'visible' });
      await session.runCommand('Letterpress: Generate Image…');
      await session.pick('Custom');
      await session.answerInput('Custom Size', '64x64');
      await session.answerInput('(2/3)', 'a plain badge');
      await session.answerInput('(3/3)', '');
      const png = join(session.workspace, 'assets/generated/plain-badge.png');
      await waitUntil(() => (existsSync(png) ? true : undefined), 3 * minute, 'the image in the default folder');
      assert.equal(existsSync(join(session.workspace, 'src/hijacked')), false, "the workspace's output folder was not used");
      await session.screenshot('1-generated');

      // Drawing exact text stays allowed (it writes only into the output folder); the palette takes
      // the image the editor shows. 64×64 is too small for OCR to read the drawn text back: it says so.
      await session.page.locator('.tab.active', { hasText: 'plain-badge.png' }).waitFor({ state: 'visible', timeout: minute });
      await session.runCommand('Letterpress: Draw Exact Text on Image…');
      await session.answerInput('Draw Exact Text on plain-badge.png', 'NO');
      const drawn = join(session.workspace, 'assets/generated/plain-badge-text.png');
      await waitUntil(() => (existsSync(drawn) ? true : undefined), 2 * minute, 'the drawn image beside the original');
      const chunks = readPngTextChunks(await readFile(drawn));
      assert.equal(parseLegibilityChunk(chunks.letterpress ?? '')?.exactTextFallback, true);
      assert.equal(chunks.parameters, readPngTextChunks(await readFile(png)).parameters);
      await session.notification(/plain-badge-text\.png: “NO” drawn/).waitFor({ state: 'visible', timeout: minute });
      await session.screenshot('1b-text-drawn');

      // The command is neither in the palette nor runnable from the comment.
      await session.openFile('src/a.ts', 1);
      await assert.rejects(session.runCommand('Letterpress: Generate Image from Comment', 1));
      await session.closeQuickInput();
      assert.deepEqual((await readdir(join(session.workspace, 'assets/generated'))).sort(), ['plain-badge-text.png', 'plain-badge.png']);
    }));
});
