// The gallery index and thumbnails on real PNG files in a temp workspace, read with the real
// pngTextChunks/generationParameters modules and sharp.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { GalleryIndex } from '../extension/gallery/galleryIndex.ts';
import { ThumbnailCache, thumbnailEdge } from '../extension/gallery/thumbnailCache.ts';
import { encodeRgbPng } from '../runtime/png/encodePng.ts';
import { formatGenerationParameters } from '../runtime/png/generationParameters.ts';

let root: string;
let out: string;
const xssPrompt = 'a sign that says "<img src=x onerror=alert(1)>"';

function gradient(width: number, height: number): Float32Array {
  const pixels = new Float32Array(width * height * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i % 97) / 96;
  return pixels;
}

async function writeGenerated(path: string, prompt: string, width: number, height: number, seed: number, mtime: number) {
  const parameters = formatGenerationParameters({
    prompt,
    negativePrompt: 'blurry, low quality',
    steps: 8,
    sampler: 'Euler a',
    cfgScale: 6.5,
    seed,
    width,
    height,
    model: 'pbevan11/stable-diffusion-2-typography',
  });
  await writeFile(path, await encodeRgbPng(gradient(width, height), width, height, { parameters }));
  await utimes(path, mtime, mtime);
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'lp-gallery-'));
  out = join(root, 'assets', 'generated');
  await mkdir(join(out, 'icons'), { recursive: true });
  await writeGenerated(join(out, 'old.png'), 'an old sign that says "CLOSED"', 64, 64, 1, 1_700_000_000);
  await writeGenerated(join(out, 'banner.png'), xssPrompt, 128, 32, 4294967295, 1_700_000_300);
  await writeGenerated(join(out, 'icons', 'nested.png'), 'a nested icon', 64, 64, 7, 1_700_000_200);
  // A PNG from another tool: no parameters chunk.
  await sharp({ create: { width: 40, height: 20, channels: 3, background: '#336699' } }).png().toFile(join(out, 'plain.png'));
  await utimes(join(out, 'plain.png'), 1_700_000_100, 1_700_000_100);
  await writeFile(join(out, 'broken.png'), 'not a png at all');
  await utimes(join(out, 'broken.png'), 1_600_000_000, 1_600_000_000);
  await writeFile(join(out, '.half-written.png.tmp'), 'partial');
  await writeFile(join(out, '.hidden.png'), 'partial');
  await writeFile(join(out, 'notes.txt'), 'not an image');
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('lists the PNGs of the output folder newest first with their generation settings', async () => {
  const index = new GalleryIndex({
    workspaceRoot: root,
    outputFolder: out,
    schedulerForSampler: (s) => (s === 'Euler a' ? 'euler_a' : undefined),
  });
  const images = await index.refresh();
  assert.deepEqual(
    images.map((i) => i.id),
    ['assets/generated/banner.png', 'assets/generated/icons/nested.png', 'assets/generated/plain.png', 'assets/generated/old.png', 'assets/generated/broken.png'],
  );
  const banner = index.get('assets/generated/banner.png')!;
  assert.equal(banner.name, 'banner.png');
  assert.equal(banner.path, join(out, 'banner.png'));
  assert.deepEqual(banner.settings, {
    prompt: xssPrompt,
    negativePrompt: 'blurry, low quality',
    steps: 8,
    sampler: 'Euler a',
    scheduler: 'euler_a',
    guidanceScale: 6.5,
    seed: 4294967295,
    width: 128,
    height: 32,
    model: 'pbevan11/stable-diffusion-2-typography',
  });
  assert.equal(index.get('assets/generated/plain.png')!.settings, undefined);
  assert.equal(index.get('assets/generated/broken.png')!.settings, undefined);
});

test('re-reads only files whose mtime or size changed, and forgets deleted ones', async () => {
  const index = new GalleryIndex({ workspaceRoot: root, outputFolder: out });
  await index.refresh();
  const oldEntry = index.get('assets/generated/old.png');
  const nestedEntry = index.get('assets/generated/icons/nested.png');
  await writeGenerated(join(out, 'icons', 'nested.png'), 'a nested icon, redone', 64, 64, 8, 1_700_000_400);
  await rm(join(out, 'broken.png'));
  await index.refresh();
  assert.equal(index.get('assets/generated/old.png'), oldEntry, 'unchanged entry reused');
  assert.notEqual(index.get('assets/generated/icons/nested.png'), nestedEntry);
  assert.equal(index.get('assets/generated/icons/nested.png')?.settings?.prompt, 'a nested icon, redone');
  assert.equal(index.images[0].id, 'assets/generated/icons/nested.png', 'the changed file is now the newest');
  assert.equal(index.get('assets/generated/broken.png'), undefined);
});

test('a missing output folder is an empty gallery, not an error', async () => {
  const index = new GalleryIndex({ workspaceRoot: root, outputFolder: join(root, 'does', 'not', 'exist') });
  assert.deepEqual(await index.refresh(), []);
});

test('thumbnails fit 256 px keeping the aspect ratio, are cached by path+mtime+size and pruned', async () => {
  const cacheDir = join(root, 'storage', 'thumbnails');
  const cache = new ThumbnailCache(cacheDir);
  const index = new GalleryIndex({ workspaceRoot: root, outputFolder: out });
  await writeGenerated(join(out, 'wide.png'), 'a wide banner', 1024, 256, 3, 1_700_000_500);
  const wide = (await index.refresh()).find((i) => i.name === 'wide.png')!;
  const thumb = await cache.get(wide);
  assert.ok(thumb);
  const meta = await sharp(thumb).metadata();
  assert.equal(meta.format, 'webp');
  assert.deepEqual([meta.width, meta.height], [thumbnailEdge, thumbnailEdge / 4]);
  // A small image is not enlarged.
  const plain = index.get('assets/generated/plain.png')!;
  const small = await sharp((await cache.get(plain))!).metadata();
  assert.deepEqual([small.width, small.height], [40, 20]);

  // Same file again: the same thumbnail; a changed file: a new one.
  assert.equal(await cache.get(wide), thumb);
  assert.notEqual(cache.pathOf({ ...wide, mtimeMs: wide.mtimeMs + 1 }), thumb);
  assert.notEqual(cache.pathOf({ ...wide, size: wide.size + 1 }), thumb);

  await writeFile(join(out, 'corrupt.png'), 'garbage');
  const corrupt = (await index.refresh()).find((i) => i.name === 'corrupt.png')!;
  assert.equal(await cache.get(corrupt), undefined);
  assert.deepEqual((await readdir(cacheDir)).filter((n) => n.endsWith('.tmp')), [], 'no temp file left behind');

  const removed = await cache.prune([plain]);
  assert.equal(removed, 1);
  assert.deepEqual(await readdir(cacheDir), [`${cache.keyOf(plain)}.webp`]);
});
