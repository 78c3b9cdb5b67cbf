// The layout picture of layout-first text: where the letters go for each preset, which colours the
// prompt names, and the real PNG that comes out (its size, its ground, its letters inside their box).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import type { TextBox } from '../runtime/png/letterpressRecord.ts';
import { contrastRatio } from '../runtime/legibility/regionColours.ts';
import { layoutAlignFor, layoutBox, layoutPresetFor, renderLayoutPicture } from '../runtime/layout/layoutPicture.ts';
import { colourWords, coloursFromPrompt, minLayoutContrast, neutralDark, neutralLight } from '../runtime/layout/promptColours.ts';

function inside(inner: TextBox, outer: TextBox): boolean {
  return inner.left >= outer.left && inner.top >= outer.top && inner.left + inner.width <= outer.left + outer.width && inner.top + inner.height <= outer.top + outer.height;
}

test('the preset follows the size: square is an icon, 3:1 and 4:1 are banners, 3:2 a mockup', () => {
  assert.equal(layoutPresetFor(512, 512), 'icon');
  assert.equal(layoutPresetFor(576, 512), 'icon');
  assert.equal(layoutPresetFor(1024, 256), 'banner');
  assert.equal(layoutPresetFor(768, 256), 'banner');
  assert.equal(layoutPresetFor(768, 512), 'mockup');
  assert.equal(layoutPresetFor(512, 768), 'mockup', 'a tall image gets a title area, not one line across');
});

test('boxes per preset: the icon centred and large, the banner one wide line, the mockup a title band at the top', () => {
  const icon = layoutBox(512, 512, 1, 'icon');
  assert.equal(icon.left + icon.width / 2, 256);
  assert.equal(icon.top + icon.height / 2, 256);
  assert.ok(icon.width >= 0.75 * 512 && icon.height >= 0.3 * 512);
  const banner = layoutBox(1024, 256, 1, 'banner');
  assert.ok(banner.width >= 0.85 * 1024 && banner.height >= 0.5 * 256);
  assert.ok(Math.abs(banner.top + banner.height / 2 - 128) <= 1);
  const left = layoutBox(1024, 256, 1, 'banner', 'left');
  assert.ok(left.left < banner.left && left.left > 0);
  const mockup = layoutBox(768, 512, 1, 'mockup');
  assert.ok(mockup.top + mockup.height < 512 / 2, 'the title sits in the upper half');
  assert.ok(mockup.top > 0);
  for (const [box, w, h] of [[icon, 512, 512], [banner, 1024, 256], [left, 1024, 256], [mockup, 768, 512]] as const) {
    assert.ok(inside(box, { left: 0, top: 0, width: w, height: h }));
  }
  assert.ok(layoutBox(512, 512, 2, 'icon').height > icon.height, 'two lines get a taller box');
});

test('alignment: left only when the prompt asks for it', () => {
  assert.equal(layoutAlignFor('a banner with left-aligned text "Docs"'), 'left');
  assert.equal(layoutAlignFor('a header, title on the left, "Docs"'), 'left');
  assert.equal(layoutAlignFor('a banner that says "Left Behind"'), 'centre');
});

test('colours from the prompt: letters and ground by their nouns, "on" names the ground', () => {
  const gold = colourWords.get('gold');
  const navy = colourWords.get('navy');
  assert.deepEqual(coloursFromPrompt('a banner with gold letters on a navy background that says "Letterpress"'), {
    ink: gold,
    background: navy,
    named: { ink: true, background: true },
  });
  assert.deepEqual(coloursFromPrompt('white text on black, "OPEN"'), {
    ink: colourWords.get('white'),
    background: colourWords.get('black'),
    named: { ink: true, background: true },
  });
  // One colour named: the other is the neutral that contrasts with it.
  const redSign = coloursFromPrompt('a red wooden sign that says "SALE"');
  assert.deepEqual(redSign.background, colourWords.get('red'));
  assert.deepEqual(redSign.named, { background: true, ink: false });
  assert.ok([neutralDark, neutralLight].some((n) => n.join() === redSign.ink.join()));
  const pinkText = coloursFromPrompt('pink lettering, "hello"');
  assert.deepEqual(pinkText.ink, colourWords.get('pink'));
  assert.deepEqual(pinkText.background, neutralDark);
  // Modifiers shade the colour.
  const dark = coloursFromPrompt('a dark blue background with the word "GO"');
  assert.ok(dark.background[2] < colourWords.get('blue')![2]);
});

test('colours: quoted words are not colour words, nothing named gives the neutral pair, too little contrast is mended', () => {
  assert.deepEqual(coloursFromPrompt('a poster that says "RED ALERT"'), { background: neutralLight, ink: neutralDark, named: { background: false, ink: false } });
  const yellowOnWhite = coloursFromPrompt('yellow text on a white background "Hi"');
  assert.deepEqual(yellowOnWhite.background, colourWords.get('white'));
  assert.ok(contrastRatio(yellowOnWhite.ink, yellowOnWhite.background) >= minLayoutContrast);
  assert.equal(yellowOnWhite.named.ink, false);
});

async function pixelsOf(png: Buffer) {
  return sharp(png).raw().toBuffer({ resolveWithObject: true });
}

test('the layout PNG: requested size, RGB, ground colour around the text, ink only inside the text box', async () => {
  const cases = [
    { width: 512, height: 512, prompt: 'an app icon, gold letters on a navy background, "OK"', target: 'OK', preset: 'icon' },
    { width: 1024, height: 256, prompt: 'a README banner "Letterpress"', target: 'Letterpress', preset: 'banner' },
    { width: 768, height: 512, prompt: 'a dashboard mockup titled "Sales Report" with white text on a teal header', target: 'Sales Report', preset: 'mockup' },
  ] as const;
  for (const c of cases) {
    const picture = await renderLayoutPicture(c);
    assert.equal(picture.preset, c.preset);
    const { data, info } = await pixelsOf(picture.png);
    assert.deepEqual([info.width, info.height, info.channels], [c.width, c.height, 3]);
    assert.ok(inside(picture.textBox, picture.box), `${c.preset}: the letters stay in their box`);
    const { ink, background } = picture.colours;
    let inkInside = 0;
    let changedOutside = 0;
    for (let y = 0; y < info.height; y++) {
      for (let x = 0; x < info.width; x++) {
        const i = (y * info.width + x) * 3;
        const pixel = [data[i]!, data[i + 1]!, data[i + 2]!];
        const isGround = pixel.every((v, k) => v === background[k]);
        const isInk = pixel.every((v, k) => Math.abs(v - ink[k]!) <= 2);
        const t = picture.textBox;
        const inText = x >= t.left && x < t.left + t.width && y >= t.top && y < t.top + t.height;
        if (inText && isInk) inkInside++;
        if (!inText && !isGround) changedOutside++;
      }
    }
    assert.equal(changedOutside, 0, `${c.preset}: outside the letters the picture is flat ground`);
    assert.ok(inkInside > picture.textBox.width * picture.textBox.height * 0.1, `${c.preset}: letters drawn in the ink colour`);
    // Large: the letters take a good share of their box.
    assert.ok(picture.textBox.width >= 0.6 * picture.box.width || picture.textBox.height >= 0.6 * picture.box.height);
  }
  const mockup = await renderLayoutPicture(cases[2]);
  assert.deepEqual(mockup.colours.background, colourWords.get('teal'));
  assert.deepEqual(mockup.colours.ink, colourWords.get('white'));
  assert.ok(mockup.textBox.top + mockup.textBox.height < 512 / 2);
});

test('a banner puts two quoted strings on one line; an icon keeps them as two', async () => {
  const banner = await renderLayoutPicture({ target: 'SALE\n50% OFF', prompt: '', width: 1024, height: 256 });
  const icon = await renderLayoutPicture({ target: 'SALE\n50% OFF', prompt: '', width: 512, height: 512 });
  assert.ok(banner.textBox.width / banner.textBox.height > 4, 'one long line');
  assert.ok(icon.textBox.width / icon.textBox.height < 2.5, 'two stacked lines');
});
