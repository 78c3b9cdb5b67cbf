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
import { addPngTextChunk } from '../runtime/png/pngTextChunks.ts';
import { legibilityChunkText, letterpressChunkKey, type LegibilityRecord } from '../runtime/png/letterpressRecord.ts';
import { isGalleryImage } from '../webview/protocol.ts';

let root: string;
let out: string;
const xssPrompt = 'a sign that says "<img src=x onerror=alert(1)>"';

function gradient(width: number, height: number): Float32Array {
  const pixels = new Float32Array(width * height * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i % 97) / 96;
  return pixels;
}

async function writeGenerated(path: string, prompt: string, width: number, height: number, seed: number, mtime: number, letterpress?: string) {
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
  let png = await encodeRgbPng(gradient(width, height), width, height, { parameters });
  if (letterpress !== undefined) png = addPngTextChunk(png, letterpressChunkKey, letterpress);
  await writeFile(path, png);
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

function record(patch: Partial<LegibilityRecord['legibility']>, extra: Omit<LegibilityRecord, 'legibility'> = {}): string {
  return legibilityChunkText({
    legibility: { target: 'OPEN 24/7', ocrText: 'OPEN 2417', cer: 0.11111, exactMatch: false, wholeCer: 0.2, ocrConfidence: 81.26, bbox: null, ...patch },
    ...extra,
  });
}

test('reads the letterpress chunk: scores, the chosen image and its losing candidates, malformed records ignored', async () => {
  const ws = await mkdtemp(join(tmpdir(), 'lp-gallery-legibility-'));
  try {
    const folder = join(ws, 'assets', 'generated');
    await mkdir(join(folder, 'candidates'), { recursive: true });
    const candidates = { count: 4, seeds: [40, 41, 42, 43], chosenSeed: 42 };
    const prompt = 'a neon sign that says "OPEN 24/7"';
    await writeGenerated(join(folder, 'open.png'), prompt, 64, 64, 42, 1_700_000_010, record({ ocrText: 'OPEN 24/7', cer: 0, exactMatch: true }, { exactTextFallback: true, candidates }));
    await writeGenerated(join(folder, 'candidates', 'open.png'), prompt, 64, 64, 41, 1_700_000_009, record({}, { candidates }));
    await writeGenerated(join(folder, 'scored.png'), prompt, 64, 64, 7, 1_700_000_008, record({ ocrText: 'x'.repeat(3000) }));
    await writeGenerated(join(folder, 'not-json.png'), prompt, 64, 64, 8, 1_700_000_007, '{"legibility": ');
    await writeGenerated(join(folder, 'wrong-types.png'), prompt, 64, 64, 9, 1_700_000_006, JSON.stringify({ legibility: { target: 'A', ocrText: 'A', cer: '0', exactMatch: true, ocrConfidence: 90 } }));
    await writeGenerated(join(folder, 'negative-cer.png'), prompt, 64, 64, 10, 1_700_000_005, record({ cer: -1 }));
    await writeGenerated(join(folder, 'huge-count.png'), prompt, 64, 64, 11, 1_700_000_004, record({}, { candidates: { count: 1e9, seeds: [], chosenSeed: 11 } }));
    await writeGenerated(join(folder, 'empty-target.png'), prompt, 64, 64, 12, 1_700_000_003, record({ target: '  ' }));

    const index = new GalleryIndex({ workspaceRoot: ws, outputFolder: folder });
    const images = await index.refresh();
    assert.equal(images.length, 8, 'every image shows, malformed records or not');

    assert.deepEqual(index.get('assets/generated/open.png')!.legibility, {
      target: 'OPEN 24/7',
      ocrText: 'OPEN 24/7',
      cer: 0,
      exactMatch: true,
      ocrConfidence: 81.3,
      exactTextFallback: true,
      candidateCount: 4,
      chosen: true,
    });
    const losing = index.get('assets/generated/candidates/open.png')!.legibility!;
    assert.equal(losing.chosen, false, 'seed 41 is not the chosen seed 42');
    assert.equal(losing.cer, 0.1111);
    assert.equal(losing.exactTextFallback, false);
    const scored = index.get('assets/generated/scored.png')!.legibility!;
    assert.equal(scored.candidateCount, 1);
    assert.equal(scored.chosen, true, 'a record without candidates is its own choice');
    assert.ok(scored.ocrText.length <= 500 && scored.ocrText.endsWith('…'), 'a long OCR text is cut');
    for (const name of ['not-json', 'wrong-types', 'negative-cer', 'huge-count', 'empty-target']) {
      const image = index.get(`assets/generated/${name}.png`)!;
      assert.equal(image.legibility, undefined, name);
      assert.equal(image.settings?.prompt, prompt, `${name} keeps its settings`);
    }
    for (const image of images) assert.ok(isGalleryImage({ ...image, uri: '', thumbnailUri: '' }), image.id);
  } finally {
    await rm(ws, { recursive: true, force: true });
  }
});

test('the exports folder is left out; candidates and other subfolders stay', async () => {
  const ws = await mkdtemp(join(tmpdir(), 'lp-gallery-exports-'));
  try {
    const folder = join(ws, 'out');
    await mkdir(join(folder, 'exports', 'open'), { recursive: true });
    await mkdir(join(folder, 'candidates'), { recursive: true });
    await mkdir(join(folder, 'icons', 'exports'), { recursive: true });
    await writeGenerated(join(folder, 'open.png'), 'a', 64, 64, 1, 1_700_000_001);
    await writeGenerated(join(folder, 'exports', 'open', 'icon-16.png'), 'a', 16, 16, 1, 1_700_000_002);
    await writeGenerated(join(folder, 'exports', 'loose.png'), 'a', 16, 16, 1, 1_700_000_002);
    await writeGenerated(join(folder, 'candidates', 'open.png'), 'a', 64, 64, 2, 1_700_000_003);
    // Only the output folder's own exports/ is ours; a user's folder of that name deeper down is not.
    await writeGenerated(join(folder, 'icons', 'exports', 'mine.png'), 'a', 64, 64, 3, 1_700_000_004);
    const index = new GalleryIndex({ workspaceRoot: ws, outputFolder: folder });
    assert.deepEqual((await index.refresh()).map((i) => i.id), ['out/icons/exports/mine.png', 'out/candidates/open.png', 'out/open.png']);
  } finally {
    await rm(ws, { recursive: true, force: true });
  }
});
