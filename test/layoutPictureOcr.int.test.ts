// The layout picture must itself read exactly: image-to-image restyles what it is shown, so a layout
// OCR cannot read would start the model from wrong letters. Read back with a real tesseract.js worker.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { scoreImage } from '../runtime/legibility/legibilityScore.ts';
import { OcrReader } from '../runtime/legibility/ocrReader.ts';
import { renderLayoutPicture } from '../runtime/layout/layoutPicture.ts';

const reader = new OcrReader();
after(() => reader.close());

test('every preset’s layout reads back exactly, and OCR finds the text where the layout put it', async () => {
  const cases = [
    { width: 512, height: 512, prompt: 'an app icon, gold letters on a navy background', target: 'OK' },
    { width: 512, height: 512, prompt: 'a shop sign', target: 'SALE\n50% OFF' },
    { width: 1024, height: 256, prompt: 'a README banner, white text on black', target: 'Letterpress' },
    { width: 768, height: 256, prompt: 'a left-aligned banner in pink lettering', target: 'OPEN 24/7' },
    { width: 768, height: 512, prompt: 'a dashboard mockup with a teal header', target: 'Sales Report' },
  ];
  for (const c of cases) {
    const picture = await renderLayoutPicture(c);
    const score = await scoreImage(reader, picture.png, c.target);
    assert.equal(score.exactMatch, true, `${picture.preset} ${JSON.stringify(c.target)} read as ${JSON.stringify(score.ocrText)}`);
    assert.ok(score.bbox, 'OCR found the words');
    const t = picture.textBox;
    const centreX = score.bbox.left + score.bbox.width / 2;
    const centreY = score.bbox.top + score.bbox.height / 2;
    assert.ok(centreX >= t.left && centreX <= t.left + t.width && centreY >= t.top && centreY <= t.top + t.height, `${picture.preset}: OCR's box is on the drawn text`);
  }
});
