import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nameSourceOf, outputBaseName, slugify } from '../extension/workspace/outputFileName.ts';

test('names come from the quoted text plus the preset', () => {
  assert.equal(outputBaseName('a neon sign that says "OPEN 24/7"', 'Banner'), 'open-24-7-banner');
  assert.equal(outputBaseName('a logo with “Café Crème” in gold', 'Icon'), 'cafe-creme-icon');
  assert.equal(outputBaseName('two signs: "EXIT" and "ENTRANCE"'), 'exit-entrance');
});

test('without quotes the first words of the prompt are used, without a leading article', () => {
  assert.equal(nameSourceOf('A watercolor lighthouse at dawn'), 'watercolor lighthouse at dawn');
  assert.equal(outputBaseName('A watercolor lighthouse at dawn', 'Mockup'), 'watercolor-lighthouse-at-dawn-mockup');
});

test('slugs are short, ASCII, never empty and never a reserved device name', () => {
  assert.equal(slugify('Ünïcödé — déjà vu!'), 'unicode-deja-vu');
  assert.equal(slugify('日本語'), 'image');
  assert.equal(slugify('   '), 'image');
  assert.equal(slugify('CON'), 'con-image');
  assert.equal(slugify('../../etc/passwd'), 'etc-passwd');
  const long = slugify('word '.repeat(40));
  assert.ok(long.length <= 48 && !long.endsWith('-'), long);
  assert.equal(slugify('a'.repeat(100)).length, 48);
  const named = outputBaseName(`"${'very long text '.repeat(10)}"`, 'banner');
  assert.ok(named.length <= 48 && named.endsWith('-banner'), named);
});

test('the preset is not repeated when the text already ends with it', () => {
  assert.equal(outputBaseName('"Summer banner"', 'Banner'), 'summer-banner');
  assert.equal(outputBaseName('a cat', 'Custom 64x64'), 'cat-custom-64x64');
});
