// How a job's prompt, the gallery form's choices and the settings become the runtime's legibility
// options, and the one-line summary the result notification shows.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeLegibility, legibilityOptionsFor } from '../extension/jobs/legibilityOptions.ts';

const settings = {
  checkText: true,
  candidates: 0,
  exactTextFallback: false,
  exactTextPosition: undefined,
  keepCandidates: true,
  textLayout: 'auto' as const,
  textLayoutStrength: 0.7,
};

test('quoted text becomes the target; settings fill what the job leaves open', () => {
  assert.deepEqual(legibilityOptionsFor({ prompt: 'a neon sign that says "OPEN 24/7"' }, settings), {
    target: 'OPEN 24/7',
    candidates: 0,
    exactFallback: false,
    keepCandidates: true,
    layout: 'auto',
    layoutStrength: 0.7,
  });
  assert.deepEqual(
    legibilityOptionsFor(
      { prompt: 'a mug with “Bean” and «There»', candidates: 4, exactFallback: true, layout: 'always' },
      { ...settings, exactTextPosition: 'bottom', textLayoutStrength: 0.55 },
    ),
    { target: 'Bean\nThere', candidates: 4, exactFallback: true, position: 'bottom', keepCandidates: true, layout: 'always', layoutStrength: 0.55 },
  );
});

test('no quoted text, or the check switched off: nothing to check; an explicit text always counts', () => {
  assert.equal(legibilityOptionsFor({ prompt: "a cat's hat, 12\" wide" }, settings), undefined);
  assert.equal(legibilityOptionsFor({ prompt: 'a sign "OPEN"' }, { ...settings, checkText: false }), undefined);
  assert.equal(legibilityOptionsFor({ prompt: 'a sign "OPEN"', text: '  ' }, settings)?.target, 'OPEN', 'a blank field falls back to the quotes');
  assert.equal(legibilityOptionsFor({ prompt: 'a sign "OPEN"', text: 'CLOSED' }, { ...settings, checkText: false })?.target, 'CLOSED');
});

test('several images per job are scored, not ranked (best of N keeps one image)', () => {
  const options = legibilityOptionsFor({ prompt: 'a sign "OPEN"', numImages: 3, candidates: 4, exactFallback: true }, settings);
  assert.equal(options?.candidates, 1);
  assert.equal(options?.exactFallback, false);
  assert.equal(options?.layout, undefined, 'no layout-first phases either');
});

test('the summary line says whether the text reads, how it was read, and out of how many', () => {
  const base = { target: 'OPEN 24/7', ocrText: 'OPEN 24/7', cer: 0, exactMatch: true, exactTextFallback: false, candidateCount: 4 };
  assert.equal(describeLegibility(base), '“OPEN 24/7” reads exactly (best of 4)');
  assert.equal(describeLegibility({ ...base, exactTextFallback: true, candidateCount: 1 }), '“OPEN 24/7” drawn exactly: the image did not spell it');
  assert.equal(describeLegibility({ ...base, exactTextFallback: true, candidateCount: 2 }), '“OPEN 24/7” drawn exactly: none of the 2 candidates spelled it');
  assert.equal(
    describeLegibility({ ...base, ocrText: 'OPEM\n2417', cer: 0.25, exactMatch: false }),
    '“OPEN 24/7” read as “OPEM 2417” (CER 0.25, best of 4)',
  );
  assert.equal(describeLegibility({ ...base, mode: 'layout' }), '“OPEN 24/7” reads exactly (layout-first, best of 4)');
  assert.equal(describeLegibility({ ...base, mode: 'repair', candidateCount: 1 }), '“OPEN 24/7” reads exactly (text repaired)');
  assert.equal(describeLegibility({ ...base, target: 'A\nB', ocrText: '', cer: 1, exactMatch: false, candidateCount: 1 }), '“A / B” read as nothing (CER 1.00)');
});
