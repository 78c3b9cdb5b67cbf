// The import rule (.dependency-cruiser.cjs through scripts/checkImports.mjs, as `npm test` runs it):
// the real tree passes, and a copy of it with one bad import planted per rule fails on each, naming
// the rule and the file. Static analysis of the source only, so it runs with the unit tier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const checkImports = resolve('scripts/checkImports.mjs');

async function runCheck(cwd: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [checkImports], { cwd, encoding: 'utf8', maxBuffer: 1 << 24 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr };
  }
}

test('the repository follows the import rule', async () => {
  const { code, output } = await runCheck(process.cwd());
  assert.equal(code, 0, output);
  // It did look: every module of the three programs and the tests was read.
  const cruised = /no dependency violations found \((\d+) modules/.exec(output);
  assert.ok(cruised, output);
  assert.ok(Number(cruised[1]) > 150, output);
});

/** One bad import per rule: the file planted, its source, and the report line (rule: from → to) it must cause. */
const plants: [file: string, source: string, report: RegExp][] = [
  ['runtime/jobs/plantedVscode.ts', "import * as vscode from 'vscode';\nexport const window = vscode.window;\n", /vscode-only-in-host: runtime\/jobs\/plantedVscode\.ts → \S*node_modules\/@types\/vscode\//],
  ['webview/plantedVscode.ts', "import type { Uri } from 'vscode';\nexport type Link = Uri;\n", /vscode-only-in-host: webview\/plantedVscode\.ts → \S*node_modules\/@types\/vscode\//],
  ['runtime/pipeline/plantedHost.ts', "import { readSettings } from '../../extension/settings.ts';\nexport const read = readSettings;\n", /runtime-not-to-host-or-webview: runtime\/pipeline\/plantedHost\.ts → extension\/settings\.ts/],
  ['runtime/cli/plantedWebview.ts', "import { parseMessage } from '../../webview/protocol.ts';\nexport const parse = parseMessage;\n", /runtime-not-to-host-or-webview: runtime\/cli\/plantedWebview\.ts → webview\/protocol\.ts/],
  ['webview/plantedHost.ts', "import { readSettings } from '../extension/settings.ts';\nexport const read = readSettings;\n", /webview-only-itself-and-protocol: webview\/plantedHost\.ts → extension\/settings\.ts/],
  ['webview/plantedRuntime.ts', "import { createScheduler } from '../runtime/schedulers/createScheduler.ts';\nexport const make = createScheduler;\n", /webview-only-itself-and-protocol: webview\/plantedRuntime\.ts → runtime\/schedulers\/createScheduler\.ts/],
  ['webview/plantedNode.ts', "import { readFileSync } from 'node:fs';\nexport const read = readFileSync;\n", /webview-no-node: webview\/plantedNode\.ts → fs/],
  ['extension/plantedPipeline.ts', "import { ImageGenerator } from '../runtime/pipeline/imageGenerator.ts';\nexport const G = ImageGenerator;\n", /host-only-shared-runtime: extension\/plantedPipeline\.ts → runtime\/pipeline\/imageGenerator\.ts/],
  ['extension/plantedJob.ts', "import type { ImageGeneratorLike } from '../runtime/jobs/generateImageJob.ts';\nexport type G = ImageGeneratorLike;\n", /host-only-shared-runtime: extension\/plantedJob\.ts → runtime\/jobs\/generateImageJob\.ts/],
  // Exports run in the runtime (runtime/image/export): the host never loads sharp.
  ['extension/plantedExport.ts', "import { renderExport } from '../runtime/export/exportRenderers.ts';\nexport const render = renderExport;\n", /host-only-shared-runtime: extension\/plantedExport\.ts → runtime\/export\/exportRenderers\.ts/],
  // The `letterpress` chunk's record is runtime/png/letterpressRecord.ts; OCR scoring stays the runtime's.
  ['extension/plantedScore.ts', "import { scoreImage } from '../runtime/legibility/legibilityScore.ts';\nexport const score = scoreImage;\n", /host-only-shared-runtime: extension\/plantedScore\.ts → runtime\/legibility\/legibilityScore\.ts/],
  ['extension/plantedWebview.ts', "import { GalleryController } from '../webview/galleryController.ts';\nexport const C = GalleryController;\n", /host-only-webview-protocol: extension\/plantedWebview\.ts → webview\/galleryController\.ts/],
  ['runtime/protocol/plantedInternal.ts', "import { readPngTextChunks } from '../png/pngTextChunks.ts';\nexport const read = readPngTextChunks;\n", /protocol-self-contained: runtime\/protocol\/plantedInternal\.ts → runtime\/png\/pngTextChunks\.ts/],
  // A circle is reported once, from either end, one module per line.
  ['runtime/png/plantedCircleA.ts', "import { b } from './plantedCircleB.ts';\nexport const a = () => b;\n", /no-circular: runtime\/png\/plantedCircle([AB])\.ts → \s*runtime\/png\/plantedCircle(?!\1)[AB]\.ts →\s*runtime\/png\/plantedCircle\1\.ts/],
  ['runtime/png/plantedCircleB.ts', "import { a } from './plantedCircleA.ts';\nexport const b = () => a;\n", /no-circular/],
];

test('a planted bad import breaks the rule it crosses', async (t) => {
  const copy = mkdtempSync(join(tmpdir(), 'letterpress-imports-'));
  t.after(() => rmSync(copy, { recursive: true, force: true }));
  for (const folder of ['extension', 'runtime', 'webview']) cpSync(folder, join(copy, folder), { recursive: true });
  // The copy resolves packages (vscode's types among them) from the real node_modules.
  symlinkSync(resolve('node_modules'), join(copy, 'node_modules'), 'dir');
  for (const [file, source] of plants) writeFileSync(join(copy, file), source);

  const { code, output } = await runCheck(copy);
  assert.notEqual(code, 0, output);
  for (const [file, , report] of plants) assert.match(output, report, `expected for ${file}:\n${output}`);
  // Only the plants are reported: the copy itself is the real tree, which passes (above).
  const errors = output.split('\n').filter((line) => /^\s*error /.test(line));
  assert.equal(errors.length, plants.length - 1, output);
  for (const line of errors) assert.match(line, /: \S+\/planted\w+\.ts →/);
});
