import assert from 'node:assert/strict';
import { test } from 'node:test';
import { overlayBox } from '../runtime/legibility/exactTextFallback.ts';
import { contrastRatio, regionColours } from '../runtime/legibility/regionColours.ts';

function inside(box: { left: number; top: number; width: number; height: number }, width: number, height: number) {
  return box.left >= 0 && box.top >= 0 && box.left + box.width <= width && box.top + box.height <= height;
}

test('without a region the text band sits at the chosen position, inside the image', () => {
  const centre = overlayBox(512, 512, 1, {});
  const top = overlayBox(512, 512, 1, { position: 'top' });
  const bottom = overlayBox(512, 512, 1, { position: 'bottom' });
  for (const box of [centre, top, bottom]) assert.ok(inside(box, 512, 512));
  assert.equal(centre.top + centre.height / 2, 256);
  assert.ok(top.top < centre.top && centre.top < bottom.top);
  assert.ok(overlayBox(512, 512, 2, {}).height > centre.height, 'two lines get a taller band');
});

test('a region is grown to a readable size around its centre and kept inside the image', () => {
  const small = overlayBox(512, 512, 1, { region: { left: 300, top: 100, width: 40, height: 10 } });
  assert.ok(small.width >= 0.7 * 512 - 1 && small.height >= 0.15 * 512 - 1);
  assert.ok(Math.abs(small.top + small.height / 2 - 105) <= 1);
  assert.ok(inside(small, 512, 512));
  const corner = overlayBox(768, 512, 1, { region: { left: 700, top: 490, width: 60, height: 20 } });
  assert.ok(inside(corner, 768, 512));
  assert.equal(corner.left + corner.width, 768);
  assert.equal(corner.top + corner.height, 512);
});

test('region colours: the larger group is the background, the smaller the ink', () => {
  const pixels: number[] = [];
  for (let i = 0; i < 80; i++) pixels.push(245, 235, 210);
  for (let i = 0; i < 20; i++) pixels.push(200, 20, 30);
  const colours = regionColours(Uint8Array.from(pixels), 3);
  assert.deepEqual(colours.background, [245, 235, 210]);
  assert.deepEqual(colours.ink, [200, 20, 30]);
  assert.equal(colours.inkShare, 0.2);
  const flat = regionColours(Uint8Array.from([9, 9, 9, 255, 9, 9, 9, 255]), 4);
  assert.deepEqual(flat.background, [9, 9, 9]);
  assert.equal(flat.inkShare, 0);
});

test('contrast ratio follows WCAG: 21 for black on white, 1 for equal colours', () => {
  assert.equal(Math.round(contrastRatio([0, 0, 0], [255, 255, 255]) * 100) / 100, 21);
  assert.equal(contrastRatio([120, 30, 200], [120, 30, 200]), 1);
});
