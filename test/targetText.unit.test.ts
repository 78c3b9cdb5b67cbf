import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normaliseTargetText, quotedStrings, resolveTargetText } from '../runtime/protocol/targetText.ts';

test('double and single straight quotes', () => {
  assert.deepEqual(quotedStrings('a neon sign that says "OPEN 24/7" at night'), ['OPEN 24/7']);
  assert.deepEqual(quotedStrings("a coffee shop logo, 'Bean There', flat"), ['Bean There']);
});

test('curly quotes, guillemets and German quotes', () => {
  assert.deepEqual(quotedStrings('poster reading \u201CBig Sale\u201D in red'), ['Big Sale']);
  assert.deepEqual(quotedStrings('label \u2018Fresh\u2019 on a jar'), ['Fresh']);
  assert.deepEqual(quotedStrings('Schild \u201EAchtung\u201C'), ['Achtung']);
  assert.deepEqual(quotedStrings('affiche \u00ABSoldes\u00BB'), ['Soldes']);
});

test('apostrophes inside words are not quotes', () => {
  assert.deepEqual(quotedStrings("the baker's sign says 'Fresh Bread'"), ['Fresh Bread']);
  assert.deepEqual(quotedStrings("a mug with 'Don't Panic' on it"), ["Don't Panic"]);
  assert.deepEqual(quotedStrings('a mug with \u2018Don\u2019t Panic\u2019 on it'), ['Don\u2019t Panic']);
  assert.deepEqual(quotedStrings("the dogs' bowl says 'WOOF'"), ['WOOF']);
  assert.deepEqual(quotedStrings("don't stop, it's fine"), []);
});

test('an inch mark is not an opening quote', () => {
  assert.deepEqual(quotedStrings('a 12" pizza box printed with "SLICE"'), ['SLICE']);
});

test('several quoted strings, in order; empty and unclosed ones ignored', () => {
  assert.deepEqual(quotedStrings('a banner "SALE" and a tag "50% OFF"'), ['SALE', '50% OFF']);
  assert.deepEqual(quotedStrings('empty "" and "  " then "OK"'), ['OK']);
  assert.deepEqual(quotedStrings('an unclosed "quote here'), []);
});

test('whitespace inside quotes is tidied, line breaks kept', () => {
  assert.deepEqual(quotedStrings('sign "  OPEN   LATE "'), ['OPEN LATE']);
  assert.equal(normaliseTargetText('  SALE \n\n 50%  OFF '), 'SALE\n50% OFF');
  assert.equal(normaliseTargetText('SALE\\n50% OFF'), 'SALE\n50% OFF');
});

test('resolveTargetText: explicit text wins, quoted strings join by line, null when none', () => {
  assert.equal(resolveTargetText({ prompt: 'a sign "OPEN"', text: 'CLOSED' }), 'CLOSED');
  assert.equal(resolveTargetText({ prompt: 'a sign "OPEN"', text: '   ' }), 'OPEN');
  assert.equal(resolveTargetText({ prompt: 'a banner "SALE" and a tag "50% OFF"' }), 'SALE\n50% OFF');
  assert.equal(resolveTargetText({ prompt: 'a watercolour landscape' }), null);
});
