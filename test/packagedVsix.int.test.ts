// The .vsix as `npm run package` builds it: vsce packs it with no warning (none suppressed), it carries
// what the Marketplace and VS Code read (LICENSE, CHANGELOG, a 128×128 icon, the repository), the
// bundles and only the packages they load by path; and the runtime unpacked from it, with nothing of
// the repository's node_modules in reach, reads text with its bundled OCR worker.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import * as yauzl from 'yauzl';
import { JobQueue } from '../extension/runtime/jobQueue.ts';
import { exportImageRequest } from '../runtime/protocol/runtimeProtocol.ts';
import { RuntimeSupervisor } from '../extension/runtime/runtimeSupervisor.ts';

const repoRoot = resolve(__dirname, '..');
let scratch = '';
let vsix = '';
let packageOutput = '';
let packageStatus: number | null = null;

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'letterpress-vsix-'));
  vsix = join(scratch, 'letterpress.vsix');
  const run = spawnSync(process.execPath, ['scripts/package.mjs', '--out', vsix], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  packageOutput = `${run.stdout}${run.stderr}`;
  packageStatus = run.status;
});

after(() => rm(scratch, { recursive: true, force: true }));

/** Unpacks the .vsix (a zip) into `into`, returning the paths of its files. */
async function unzip(file: string, into: string): Promise<string[]> {
  const zip = await new Promise<yauzl.ZipFile>((ok, fail) => yauzl.open(file, { lazyEntries: true }, (error, z) => (error ? fail(error) : ok(z))));
  const names: string[] = [];
  await new Promise<void>((ok, fail) => {
    zip.on('error', fail);
    zip.on('end', ok);
    zip.on('entry', (entry: yauzl.Entry) => {
      names.push(entry.fileName);
      const target = resolve(into, entry.fileName);
      assert.ok(target.startsWith(`${into}/`), `entry outside the archive's folder: ${entry.fileName}`);
      if (entry.fileName.endsWith('/')) return zip.readEntry();
      zip.openReadStream(entry, (error, stream) => {
        if (error) return fail(error);
        mkdir(dirname(target), { recursive: true })
          .then(() => pipeline(stream, createWriteStream(target)))
          .then(() => zip.readEntry(), fail);
      });
    });
    zip.readEntry();
  });
  return names;
}

let unpacked: Promise<string[]> | undefined;
function unpack(): Promise<string[]> {
  assert.equal(packageStatus, 0, `npm run package failed:\n${packageOutput}`);
  unpacked ??= unzip(vsix, join(scratch, 'unpacked'));
  return unpacked;
}

test('npm run package: vsce packs with no warning; LICENSE, CHANGELOG, a 128×128 icon, the repository; bundles, no development tools', async () => {
  assert.equal(packageStatus, 0, packageOutput);
  assert.doesNotMatch(packageOutput, /WARNING/, 'vsce warned');
  const files = await unpack();
  const extension = join(scratch, 'unpacked', 'extension');
  for (const file of ['LICENSE.txt', 'changelog.md', 'readme.md', 'ThirdPartyNotices.txt', 'media/icon.png', 'dist/extension.js', 'dist/runtime.js', 'dist/tesseractWorker.js', 'dist/webview.js']) {
    assert.ok(files.includes(`extension/${file}`), `${file} is in the .vsix`);
  }
  const manifest = JSON.parse(await readFile(join(extension, 'package.json'), 'utf8'));
  assert.equal(manifest.license, 'MIT');
  assert.match(manifest.repository.url, /^https:\/\//);
  assert.equal(manifest.icon, 'media/icon.png');
  const icon = await sharp(join(extension, manifest.icon)).metadata();
  assert.deepEqual([icon.format, icon.width, icon.height], ['png', 128, 128]);
  assert.match(await readFile(join(extension, 'LICENSE.txt'), 'utf8'), /^MIT License/);

  // tesseract.js is bundled (its worker too); what stays a package is what loads files by path.
  const packages = new Set(files.filter((f) => f.startsWith('extension/dist/node_modules/')).map((f) => f.split('/').slice(3, f.split('/')[3]!.startsWith('@') ? 5 : 4).join('/')));
  for (const name of ['tesseract.js', 'tsx', 'esbuild', 'node-fetch', 'whatwg-url', 'zlibjs']) assert.ok(!packages.has(name), `${name} is not shipped as a package`);
  for (const name of ['onnxruntime-node', 'sharp', 'tesseract.js-core', '@tesseract.js-data/eng']) assert.ok(packages.has(name), `${name} ships`);
  assert.ok(files.some((f) => f.endsWith('.wasm')), 'tesseract.js-core ships its WebAssembly as files');
  // vsce asks to bundle above 100 JavaScript files or 5000 files.
  const scripts = files.filter((f) => /\.js$/i.test(f));
  assert.ok(scripts.length < 100 && files.length < 5000, `${files.length} files, ${scripts.length} scripts`);
  console.log(`packaged: ${files.length} entries, ${scripts.length} .js files`);
});

test('the runtime unpacked from the .vsix reads text with its bundled OCR worker, and traces the drawn image to SVG with its text kept', { timeout: 180_000 }, async () => {
  await unpack();
  const extension = join(scratch, 'unpacked', 'extension');
  const supervisor = new RuntimeSupervisor({ modulePath: join(extension, 'dist', 'runtime.js') });
  const queue = new JobQueue(supervisor);
  try {
    // A plain picture with no record: the packaged runtime draws the text on it and reads it back (OCR).
    const input = join(scratch, 'plain.png');
    await sharp({ create: { width: 320, height: 192, channels: 3, background: { r: 40, g: 60, b: 110 } } }).png().toFile(input);
    const outputDir = join(scratch, 'out');
    await mkdir(outputDir);
    const result = await queue.drawText('draw', { input, target: 'OPEN 24/7', outputDir }).result;
    assert.equal(result.legibility.exactMatch, true, `read as ${JSON.stringify(result.legibility.ocrText)}`);
    assert.deepEqual(await readdir(outputDir), ['plain-text.png']);
    // The tracer, the font reader and the bundled font, from the .vsix.
    const exported = await supervisor.request(exportImageRequest, { jobId: 'svg', preset: 'svg', input: result.file, outputDir: join(scratch, 'svg'), colours: 4 });
    assert.deepEqual(exported.files.map((f) => f.path), [join(scratch, 'svg', 'plain-text.svg')]);
    const svg = await readFile(exported.files[0]!.path, 'utf8');
    assert.match(svg, /<tspan [^>]*>OPEN 24\/7<\/tspan>/);
    assert.match(svg, /@font-face\{font-family:'Letterpress Open Sans Bold'/);
  } finally {
    queue.dispose();
    supervisor.dispose();
    await supervisor.whenExited();
  }
});
