import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jobLegibilitySummary, legibilityBadge } from '../webview/legibilityBadge.ts';
import type { GalleryImage, GalleryLegibility, JobView } from '../webview/protocol.ts';

const base: GalleryLegibility = {
  target: 'OPEN\n24/7',
  ocrText: 'OPEN 2417',
  cer: 0.3125,
  exactMatch: false,
  ocrConfidence: 80.6,
  exactTextFallback: false,
  candidateCount: 1,
  chosen: true,
};

test('the card badge says exact, drawn or the error rate, with the target and the reading in its tooltip', () => {
  const near = legibilityBadge(base);
  assert.equal(near.text, 'CER 0.31');
  assert.equal(near.exact, false);
  assert.match(near.title, /^Text: “OPEN \/ 24\/7”$/m);
  assert.match(near.title, /^OCR read: “OPEN 2417” \(confidence 81\)$/m);
  assert.match(near.label, /character error rate 0\.31/);

  const exact = legibilityBadge({ ...base, cer: 0, exactMatch: true, ocrText: 'OPEN 24/7' });
  assert.equal(exact.text, '✓ text');
  assert.equal(exact.label, 'text reads exactly');
  const drawn = legibilityBadge({ ...base, cer: 0, exactMatch: true, exactTextFallback: true, candidateCount: 4 });
  assert.equal(drawn.text, '✓ text (drawn)');
  assert.match(drawn.title, /drawn over the image/);
  assert.match(drawn.title, /Best of 4 candidates/);
  assert.match(legibilityBadge({ ...base, ocrText: '' }).title, /OCR read: nothing/);
  assert.match(legibilityBadge({ ...base, candidateCount: 4, chosen: false }).title, /lost to a better one of 4/);
});

test('a finished job sums up the legibility of the image it kept', () => {
  const image = (id: string, legibility?: GalleryLegibility): GalleryImage => ({ id, name: id, uri: '', thumbnailUri: '', mtimeMs: 0, size: 0, ...(legibility ? { legibility } : {}) });
  const request = { prompt: 'a sign "OPEN"', negativePrompt: '', width: 64, height: 64, steps: 4, guidanceScale: 7.5, seed: 1, numImages: 1 };
  const job: JobView = { jobId: 'j', request, state: 'done', step: 4, totalSteps: 4, image: 0, elapsedMs: 1, outputs: ['a.png'] };
  assert.equal(jobLegibilitySummary(job, [image('a.png', { ...base, candidateCount: 4, cer: 0.123 })]), 'best of 4 · CER 0.12');
  assert.equal(jobLegibilitySummary(job, [image('a.png', { ...base, candidateCount: 4, exactMatch: true, cer: 0 })]), 'best of 4 · ✓ exact');
  assert.equal(jobLegibilitySummary(job, [image('a.png', { ...base, exactMatch: true, cer: 0, exactTextFallback: true })]), '✓ exact (drawn)');
  assert.equal(jobLegibilitySummary(job, [image('a.png')]), '', 'no record: nothing to say');
  assert.equal(jobLegibilitySummary(job, []), '', 'not indexed yet');
});
