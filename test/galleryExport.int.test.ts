// Export from the gallery on real PNG files with the real export presets (sharp): each export gets
// its own folder under exports/, a taken folder is never written into, and bad inputs say why.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { exportChoices, exportFromGallery, exportStem, exportsFolderOf, isExportInputError } from '../extension/gallery/galleryExport.ts';
import type { ExportChoice } from '../extension/gallery/galleryExport.ts';
import { GalleryIndex } from '../extension/gallery/galleryIndex.ts';

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
  root = await mkdtemp(join(tmpdir(), 'lp-gallery-export-'));
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
  await rm(root, { recursive: true, force: true });
});

test('the icon set lands in exports/<stem>/ with every size and a favicon.ico; a second export goes to <stem>-2', async () => {
  const exportsFolder = exportsFolderOf(out);
  const first = await exportFromGallery({ input: flat, exportsFolder, choice: choice(/^Icon set \+ favicon/) });
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

  const before = await readFile(join(first.folder, 'icon-16x16.png'));
  const second = await exportFromGallery({ input: flat, exportsFolder, choice: choice(/transparent background/) });
  assert.equal(second.folder, join(out, 'exports', 'open-2'));
  assert.deepEqual(await readFile(join(first.folder, 'icon-16x16.png')), before, 'the first export is left alone');
  const corner = await sharp(join(second.folder, 'icon-512x512.png')).raw().toBuffer({ resolveWithObject: true });
  assert.equal(corner.info.channels, 4);
  assert.equal(corner.data[3], 0, 'the corner is transparent');
  assert.match(second.notes.join(' '), /background rgb\(255, 255, 255\) removed/);
  assert.ok((await readdir(out)).every((name) => !name.endsWith('.tmp')));
});

test('banners fit next to icons (other names); the gallery index never lists the exports', async () => {
  const result = await exportFromGallery({ input: flat, exportsFolder: exportsFolderOf(out), choice: choice(/^Social banners/) });
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

test('an image without a flat background cannot be made transparent: a clear error, nothing written', async () => {
  const exportsFolder = exportsFolderOf(out);
  await assert.rejects(
    exportFromGallery({ input: noisy, exportsFolder, choice: choice(/^Transparent PNG$/) }),
    (error: unknown) => isExportInputError(error) && /corner/.test((error as Error).message),
  );
  await writeFile(join(out, 'fake.png'), 'not an image');
  await assert.rejects(
    exportFromGallery({ input: join(out, 'fake.png'), exportsFolder, choice: choice(/^Icon set \+ favicon/) }),
    (error: unknown) => isExportInputError(error) && /not an image/.test((error as Error).message),
  );
  assert.deepEqual((await readdir(exportsFolder)).sort(), ['open', 'open-2'], 'no folder made for a failed export');
  assert.equal(isExportInputError(new Error('disk full')), false);
});

test('a folder the confinement refuses is never written', async () => {
  const exportsFolder = join(root, 'confined', 'exports');
  const refused: string[] = [];
  await assert.rejects(
    exportFromGallery({
      input: flat,
      exportsFolder,
      choice: choice(/^Icon set \+ favicon/),
      confine: async (folder) => {
        refused.push(folder);
        throw new Error('leads outside the workspace');
      },
    }),
    /leads outside the workspace/,
  );
  assert.deepEqual(refused, [join(exportsFolder, 'open')]);
  await assert.rejects(readdir(exportsFolder), { code: 'ENOENT' });
});

test('the export folder is named after the image', () => {
  assert.equal(exportStem('/w/assets/generated/open-24-7.png'), 'open-24-7');
  assert.equal(exportStem('/w/a/banner.v2.PNG'), 'banner.v2');
  assert.equal(exportStem('/w/a/.png'), 'image');
});
