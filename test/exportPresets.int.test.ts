// Export presets on real image files in a temporary folder, through the runtime's export job (the
// function the runtime/image/export request and the CLI both call), and the `letterpress export`
// command run as a real process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { removeUniformBackground } from '../runtime/export/backgroundRemoval.ts';
import { runExportImageJob } from '../runtime/jobs/exportImageJob.ts';
import type { CropStrategy, ExportPresetName } from '../runtime/protocol/exportPresets.ts';
import { isRuntimeError } from '../runtime/protocol/runtimeProtocol.ts';

// Real paths: the job writes only into the very folder it is given.
const dir = realpathSync(mkdtempSync(join(tmpdir(), 'letterpress-export-')));

function runExport(request: { preset: ExportPresetName; input: string; outDir: string; crop?: CropStrategy; transparent?: boolean }) {
  const { outDir, ...rest } = request;
  return runExportImageJob({ jobId: 'test', outputDir: outDir, ...rest }, { signal: new AbortController().signal, onProgress: () => {} });
}
after(() => rmSync(dir, { recursive: true, force: true }));

/** A red ring on a flat light-blue backdrop; the ring's hole shows the backdrop colour too. */
async function ringIcon(width: number, height: number): Promise<Buffer> {
  const r = Math.min(width, height) * 0.3;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <rect width="100%" height="100%" fill="#a0c8f0"/>
    <circle cx="${width / 2}" cy="${height / 2}" r="${r}" fill="#d02020"/>
    <rect x="${width / 2 - r * 0.3}" y="${height / 2 - r * 0.3}" width="${r * 0.6}" height="${r * 0.6}" fill="#a0c8f0"/>
  </svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

async function alphaAt(png: Buffer, x: number, y: number): Promise<number> {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return data[(y * info.width + x) * 4 + 3]!;
}

test('icons: every size as a square PNG plus a favicon.ico with the sizes up to 256', async () => {
  const input = join(dir, 'wide.png');
  writeFileSync(input, await ringIcon(600, 400));
  const outDir = join(dir, 'icons');
  const outcome = await runExport({ preset: 'icons', input, outDir });
  const expected = [16, 32, 48, 64, 128, 256, 512];
  for (const size of expected) {
    const meta = await sharp(join(outDir, `icon-${size}x${size}.png`)).metadata();
    assert.equal(meta.format, 'png');
    assert.equal(meta.width, size);
    assert.equal(meta.height, size);
  }
  const ico = readFileSync(join(outDir, 'favicon.ico'));
  assert.equal(ico.readUInt16LE(4), 6);
  const icoSizes = Array.from({ length: 6 }, (_, i) => ico[6 + i * 16] || 256);
  assert.deepEqual(icoSizes, [16, 32, 48, 64, 128, 256]);
  assert.equal(outcome.files.length, 8);
  assert.deepEqual(readdirSync(outDir).sort(), [...expected.map((s) => `icon-${s}x${s}.png`), 'favicon.ico'].sort());
});

test('banners: 1200x630, 1500x500 and 728x90, cropped by attention or from the centre', async () => {
  const input = join(dir, 'square.png');
  writeFileSync(input, await ringIcon(512, 512));
  for (const crop of ['attention', 'centre'] as const) {
    const outDir = join(dir, `banners-${crop}`);
    const outcome = await runExport({ preset: 'banners', input, outDir, crop });
    const sizes = await Promise.all(outcome.files.map(async (f) => {
      const meta = await sharp(f.path).metadata();
      return [meta.width, meta.height];
    }));
    assert.deepEqual(sizes, [[1200, 630], [1500, 500], [728, 90]]);
  }
});

test('an existing file stops the export before anything is written; no temporary files stay', async () => {
  const input = join(dir, 'again.png');
  writeFileSync(input, await ringIcon(256, 256));
  const outDir = join(dir, 'clash');
  await runExport({ preset: 'banners', input, outDir });
  writeFileSync(join(outDir, 'banner-1500x500.png'), 'mine');
  rmSync(join(outDir, 'social-card-1200x630.png'));
  await assert.rejects(runExport({ preset: 'banners', input, outDir }), (error: unknown) => {
    assert.ok(isRuntimeError(error, 'userError'));
    assert.match(error.message, /^files already exist: \S*banner-1500x500\.png, \S*leaderboard-728x90\.png; nothing was written$/);
    return true;
  });
  assert.equal(readFileSync(join(outDir, 'banner-1500x500.png'), 'utf8'), 'mine');
  assert.deepEqual(readdirSync(outDir).sort(), ['banner-1500x500.png', 'leaderboard-728x90.png']);
});

test('background removal: corners transparent, the subject (and the backdrop colour inside it) opaque', async () => {
  const icon = await ringIcon(256, 256);
  const result = await removeUniformBackground(icon);
  assert.ok(result.png, result.reason);
  assert.deepEqual(result.background, [160, 200, 240]);
  for (const [x, y] of [[0, 0], [255, 0], [0, 255], [255, 255], [20, 128]]) assert.equal(await alphaAt(result.png, x!, y!), 0);
  assert.equal(await alphaAt(result.png, 128, 128), 255, 'the hole has the backdrop colour but is enclosed by the ring');
  assert.equal(await alphaAt(result.png, 128, 70), 255, 'the ring');
  const expectedShare = 1 - (Math.PI * (256 * 0.3) ** 2) / 256 ** 2;
  assert.ok(Math.abs(result.transparentShare - expectedShare) < 0.02, `share ${result.transparentShare} vs ${expectedShare}`);
});

test('background removal leaves images with differing or busy corners alone and says why', async () => {
  const gradient = await sharp(Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="128" height="128">
    <defs><linearGradient id="g"><stop offset="0" stop-color="#000"/><stop offset="1" stop-color="#fff"/></linearGradient></defs>
    <rect width="128" height="128" fill="url(#g)"/></svg>`)).png().toBuffer();
  const result = await removeUniformBackground(gradient);
  assert.equal(result.png, null);
  assert.match(result.reason!, /corner/);
  const input = join(dir, 'gradient.png');
  writeFileSync(input, gradient);
  await assert.rejects(runExport({ preset: 'transparent', input, outDir: join(dir, 't') }), (error: unknown) => isRuntimeError(error, 'userError') && /corner/.test(error.message));
  const icons = await runExport({ preset: 'icons', input, outDir: join(dir, 'gradient-icons'), transparent: true });
  assert.match(icons.notes.join('\n'), /background kept/);
});

function cli(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'runtime/cli/cliMain.ts', 'export', ...args], { encoding: 'utf8' });
}

test('letterpress export: writes the transparent PNG, then refuses to overwrite it; clear errors', async () => {
  const input = join(dir, 'logo.png');
  writeFileSync(input, await ringIcon(128, 128));
  const outDir = join(dir, 'cli');
  const first = cli('--input', input, '--preset', 'transparent', '--out-dir', outDir);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /logo-transparent\.png \(128x128\)/);
  assert.equal(await alphaAt(readFileSync(join(outDir, 'logo-transparent.png')), 0, 0), 0);

  const second = cli('--input', input, '--preset', 'transparent', '--out-dir', outDir);
  assert.equal(second.status, 2);
  assert.match(second.stderr, /already exists.*nothing was written/s);
  assert.doesNotMatch(second.stderr, /\n\s+at /, 'no stack trace');

  const missing = cli('--input', join(dir, 'nope.png'), '--preset', 'icons', '--out-dir', outDir);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /no such file/);
  const badPreset = cli('--input', input, '--preset', 'poster', '--out-dir', outDir);
  assert.match(badPreset.stderr, /unknown preset "poster"/);
  // The request's validator, with the CLI's flag names; the largest tolerance passes.
  const tolerance = cli('--input', input, '--preset', 'icons', '--transparent', '--tolerance', '441.5', '--out-dir', join(dir, 'cli-t'));
  assert.equal(tolerance.status, 2);
  assert.match(tolerance.stderr, /--tolerance must be a number from 0 to 441, got 441\.5/);
  const banners = cli('--input', input, '--preset', 'banners', '--transparent', '--out-dir', join(dir, 'cli-t'));
  assert.equal(banners.status, 2);
  assert.match(banners.stderr, /--transparent does not go with the banners preset/);
  const widest = cli('--input', input, '--preset', 'icons', '--transparent', '--tolerance', '441', '--out-dir', join(dir, 'cli-t'));
  assert.equal(widest.status, 0, widest.stderr);
});

test('letterpress export into a folder reached through a link writes into the folder the link leads to', { skip: process.platform === 'win32' }, async () => {
  const input = join(dir, 'linked.png');
  writeFileSync(input, await ringIcon(96, 96));
  const real = join(dir, 'real-out');
  mkdirSync(real);
  symlinkSync(real, join(dir, 'link-out'));
  const result = cli('--input', input, '--preset', 'transparent', '--out-dir', join(dir, 'link-out', 'inner'));
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(readdirSync(join(real, 'inner')), ['linked-transparent.png']);
  assert.match(result.stdout, new RegExp(`^${join(real, 'inner', 'linked-transparent.png').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(96x96\\)$`, 'm'));
});
