// Export from the editor's side (the command and the gallery) through the real runtime process: the
// host confines `exports/` to the workspace and sends runtime/image/export; the runtime makes the
// files with sharp and writes them into a folder of their own, never into a taken one, never
// through a link. Real PNG files; the host loads no image library.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { exportImage, exportStem, exportsFolderOf } from '../extension/jobs/imageExport.ts';
import { GalleryIndex } from '../extension/gallery/galleryIndex.ts';
import { RuntimeSupervisor } from '../extension/runtime/runtimeSupervisor.ts';
import { OutputPathError } from '../extension/workspace/workspacePaths.ts';
import { exportChoices, type ExportChoice } from '../runtime/protocol/exportPresets.ts';
import type { ProgressEvent } from '../runtime/protocol/generationTypes.ts';
import { exportImageRequest, jobProgressNotification, type ExportImageParams } from '../runtime/protocol/runtimeProtocol.ts';
import { rejection } from './runtimeRejection.ts';

const supervisor = new RuntimeSupervisor({ modulePath: resolve('runtime/process/runtimeMain.ts'), execArgv: ['--import', 'tsx'] });
let root: string;
let out: string;
let flat: string;
let noisy: string;

function choice(label: RegExp): ExportChoice {
  const found = exportChoices.find((c) => label.test(c.label));
  assert.ok(found, `no export choice matches ${label}`);
  return found;
}

before(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), 'lp-image-export-')));
  out = join(root, 'assets', 'generated');
  await mkdir(out, { recursive: true });
  // A dark square on a flat white background: what a generated icon looks like.
  flat = join(out, 'open.png');
  const square = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#203060' } }).png().toBuffer();
  await sharp({ create: { width: 128, height: 128, channels: 3, background: '#ffffff' } })
    .composite([{ input: square, left: 32, top: 32 }])
    .png()
    .toFile(flat);
  // Every corner a different colour: no background to remove.
  noisy = join(out, 'noisy.png');
  const raw = Buffer.alloc(32 * 32 * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 37) % 251;
  await sharp(raw, { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(noisy);
});

after(async () => {
  supervisor.dispose();
  await supervisor.whenExited();
  await rm(root, { recursive: true, force: true });
});

const request = (input: string, label: RegExp, outputFolder = out) => ({ input, workspaceRoot: root, outputFolder, choice: choice(label) });

test('the icon set lands in exports/<stem>/ with every size and a favicon.ico, with progress; a second export goes to <stem>-2', async () => {
  const events: ProgressEvent[] = [];
  const first = await exportImage(supervisor, request(flat, /^Icon set \+ favicon/), { onProgress: (event) => events.push(event) });
  assert.equal(first.folder, join(out, 'exports', 'open'));
  const names = (await readdir(first.folder)).sort();
  assert.deepEqual(names, ['favicon.ico', ...[128, 16, 256, 32, 48, 512, 64].map((s) => `icon-${s}x${s}.png`)].sort());
  for (const file of first.files.filter((f) => f.path.endsWith('.png'))) {
    const meta = await sharp(file.path).metadata();
    assert.deepEqual([meta.width, meta.height], [file.width, file.height], file.path);
  }
  const ico = await readFile(join(first.folder, 'favicon.ico'));
  assert.deepEqual([ico.readUInt16LE(0), ico.readUInt16LE(2)], [0, 1], 'an ICO header');
  assert.equal(ico.readUInt16LE(4), 6, 'six sizes in the favicon');
  assert.deepEqual(
    events.map((e) => (e.status === 'message' ? e.text : e.status)),
    ['Reading open.png…', 'Making the files…', 'Writing 8 files…', 'done'],
  );

  const before = await readFile(join(first.folder, 'icon-16x16.png'));
  const second = await exportImage(supervisor, request(flat, /transparent background/));
  assert.equal(second.folder, join(out, 'exports', 'open-2'));
  assert.deepEqual(await readFile(join(first.folder, 'icon-16x16.png')), before, 'the first export is left alone');
  const corner = await sharp(join(second.folder, 'icon-512x512.png')).raw().toBuffer({ resolveWithObject: true });
  assert.equal(corner.info.channels, 4);
  assert.equal(corner.data[3], 0, 'the corner is transparent');
  assert.match(second.notes.join(' '), /background rgb\(255, 255, 255\) removed/);
  for (const folder of [out, first.folder, second.folder]) assert.ok((await readdir(folder)).every((name) => !name.endsWith('.tmp')), folder);
});

test('banners fit next to icons (other names); the gallery index never lists the exports', async () => {
  const result = await exportImage(supervisor, request(flat, /^Social banners/));
  assert.equal(result.folder, join(out, 'exports', 'open'), 'no banner name was taken there');
  const sizes = await Promise.all(
    result.files.map(async (f) => {
      const meta = await sharp(f.path).metadata();
      return `${meta.width}x${meta.height}`;
    }),
  );
  assert.deepEqual(sizes, ['1200x630', '1500x500', '728x90']);
  const index = new GalleryIndex({ workspaceRoot: root, outputFolder: out });
  assert.deepEqual((await index.refresh()).map((i) => i.name).sort(), ['noisy.png', 'open.png']);
});

test('an image the export cannot use is a user error from the runtime, and no folder is made for it', async () => {
  const exportsFolder = exportsFolderOf(out);
  const noBackground = await rejection(exportImage(supervisor, request(noisy, /^Transparent PNG$/)));
  assert.equal(noBackground.code, 'userError');
  assert.match(noBackground.message, /corner/);
  await writeFile(join(out, 'fake.png'), 'not an image');
  const fake = await rejection(exportImage(supervisor, request(join(out, 'fake.png'), /^Icon set \+ favicon/)));
  assert.equal(fake.code, 'userError');
  assert.match(fake.message, /not an image/);
  const missing = await rejection(exportImage(supervisor, request(join(out, 'gone.png'), /^Social banners/)));
  assert.match(missing.message, /no such file/);
  assert.deepEqual((await readdir(exportsFolder)).sort(), ['open', 'open-2'], 'no folder made for a failed export');
});

test('exports/ leading outside the workspace is refused by the host; a linked <stem> folder is passed over by the runtime', async () => {
  const outside = await mkdtemp(join(tmpdir(), 'lp-export-outside-'));
  try {
    // exports/ itself a link out of the workspace: the host refuses before any request.
    const linkedOut = join(root, 'linked', 'generated');
    await mkdir(linkedOut, { recursive: true });
    await symlink(outside, exportsFolderOf(linkedOut));
    await assert.rejects(exportImage(supervisor, request(flat, /^Icon set \+ favicon/, linkedOut)), (error: unknown) => {
      assert.ok(error instanceof OutputPathError);
      assert.match(error.message, /outside the workspace folder through a symbolic link/);
      return true;
    });
    // exports/open a link out of the workspace: the runtime does not write through it, the next name serves.
    const other = join(root, 'other', 'generated');
    await mkdir(exportsFolderOf(other), { recursive: true });
    await symlink(outside, join(exportsFolderOf(other), 'open'));
    const result = await exportImage(supervisor, request(flat, /^Social banners/, other));
    assert.equal(result.folder, join(exportsFolderOf(other), 'open-2'));
    assert.deepEqual(await readdir(outside), [], 'nothing written outside the workspace');
  } finally {
    await rm(outside, { recursive: true, force: true });
  }
});

test('the runtime checks the request itself: params at the boundary, and the destination is the very folder named', async () => {
  const params = (overrides: Partial<ExportImageParams>): ExportImageParams => ({
    jobId: `check-${Math.random()}`,
    preset: 'banners',
    input: flat,
    outputDir: join(root, 'direct'),
    ...overrides,
  });
  for (const [overrides, message] of [
    [{ outputDir: 'relative/folder' }, /^outputDir must be an absolute path/],
    [{ newFolder: '../escape' }, /^newFolder must be a plain name/],
    [{ newFolder: '.hidden' }, /^newFolder must be a plain name/],
    [{ transparent: true }, /^transparent does not go with the banners preset/],
    [{ tolerance: 441.01, preset: 'icons' as const }, /^tolerance must be a number from 0 to 441, got 441.01/],
    [{ preset: 'poster' as never }, /^preset must be one of icons, banners, transparent/],
  ] as const) {
    const error = await rejection(supervisor.request(exportImageRequest, params(overrides as Partial<ExportImageParams>)));
    assert.equal(error.code, 'invalidParams', String(message));
    assert.match(error.message, message);
  }
  // A folder named through a link (not its real path) is not the folder the runtime finds there.
  const target = join(root, 'link-target');
  await mkdir(target);
  await symlink(target, join(root, 'link'));
  const linked = await rejection(supervisor.request(exportImageRequest, params({ outputDir: join(root, 'link', 'banners') })));
  assert.equal(linked.code, 'userError');
  assert.match(linked.message, /leads to .*link-target.*nothing was written/);
  assert.deepEqual(await readdir(target), [], 'nothing made through the link, not even the folder');
  // Without newFolder a taken name stops the export before anything is written.
  const fixed = join(root, 'fixed');
  await mkdir(fixed);
  await writeFile(join(fixed, 'banner-1500x500.png'), 'mine');
  const taken = await rejection(supervisor.request(exportImageRequest, params({ outputDir: fixed })));
  assert.equal(taken.code, 'userError');
  assert.match(taken.message, /banner-1500x500\.png; nothing was written/);
  assert.deepEqual(await readdir(fixed), ['banner-1500x500.png']);
});

test('an export of a large image is cancelled by its job id: the runtime answers cancelled, writes nothing and goes on', async () => {
  // 4096×4096 of noise: seconds of decoding and resizing on this machine.
  const big = join(root, 'big.png');
  const pixels = Buffer.alloc(4096 * 4096 * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 2654435761) >>> 24;
  await sharp(pixels, { raw: { width: 4096, height: 4096, channels: 3 } }).png({ compressionLevel: 1 }).toFile(big);
  const outputDir = join(root, 'cancelled');
  const connection = await supervisor.connection();
  let cancelAsked: Promise<boolean> | undefined;
  const subscription = supervisor.onNotification(jobProgressNotification, ({ jobId, event }) => {
    if (jobId === 'big' && event.status === 'message' && !cancelAsked) cancelAsked = connection.cancelJob('big');
  });
  try {
    // No signal: the answer is the runtime's own, not the host giving up.
    const error = await rejection(supervisor.request(exportImageRequest, { jobId: 'big', preset: 'icons', input: big, outputDir }));
    assert.equal(error.code, 'cancelled');
    assert.equal(await cancelAsked, true, 'the runtime knew the job when asked');
  } finally {
    subscription.dispose();
  }
  await assert.rejects(readdir(outputDir), { code: 'ENOENT' }, 'nothing was made');
  const after = await exportImage(supervisor, request(flat, /^Transparent PNG$/));
  assert.equal(after.files.length, 1);
  // The job id is free again once answered.
  const again = await rejection(supervisor.request(exportImageRequest, { jobId: 'big', preset: 'icons', input: join(root, 'none.png'), outputDir }));
  assert.equal(again.code, 'userError');
});

test('the export folder is named after the image', () => {
  assert.equal(exportStem('/w/assets/generated/open-24-7.png'), 'open-24-7');
  assert.equal(exportStem('/w/a/banner.v2.PNG'), 'banner.v2');
  assert.equal(exportStem('/w/a/.png'), 'image');
});
