import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CancelJob,
  CountTokens,
  ImagesChanged,
  JobUpdated,
  PanelReady,
  RunImageAction,
  SubmitJob,
  hostToWebview,
  isGalleryLegibility,
  legibilityLimits,
  parseMessage,
  webviewToHost,
} from '../webview/protocol.ts';
import type { GalleryImage, GalleryLegibility, GenerationRequest, JobView } from '../webview/protocol.ts';

const request: GenerationRequest = {
  prompt: 'a sign that says "OPEN"',
  negativePrompt: '',
  width: 768,
  height: 256,
  steps: 25,
  guidanceScale: 7.5,
  scheduler: 'dpmpp_2m_karras',
  seed: 4294967295,
  numImages: 2,
};

test('well-formed webview messages come through typed', () => {
  for (const message of [
    PanelReady.create({}),
    CountTokens.create({ requestId: 3, text: 'hello' }),
    SubmitJob.create({ request }),
    SubmitJob.create({ request: { ...request, scheduler: undefined } }),
    SubmitJob.create({ request: { ...request, numImages: 1, text: 'OPEN\n24/7', candidates: 16, exactFallback: true } }),
    SubmitJob.create({ request: { ...request, numImages: 8, candidates: 0, exactFallback: false } }),
    CancelJob.create({ jobId: 'a-b-c' }),
    RunImageAction.create({ id: 'assets/generated/a.png', action: 'delete' }),
    RunImageAction.create({ id: 'assets/generated/a.png', action: 'export' }),
    RunImageAction.create({ id: 'assets/generated/a.png', action: 'drawText' }),
  ]) {
    assert.deepEqual(parseMessage(webviewToHost, structuredClone(message)), structuredClone(message));
  }
});

test('the host drops unknown methods and any job outside the limits', () => {
  const bad: unknown[] = [
    undefined,
    42,
    { method: 'gallery/panel/ready' },
    { method: 'gallery/shell/run', params: { command: 'rm -rf /' } },
    { method: 'letterpress.openGallery', params: {} },
    { method: CountTokens.method, params: { requestId: 1.5, text: 'x' } },
    { method: CountTokens.method, params: { requestId: 1, text: 'x'.repeat(4001) } },
    { method: RunImageAction.method, params: { id: 'a.png', action: 'rename' } },
    { method: RunImageAction.method, params: { id: 7, action: 'open' } },
    { method: CancelJob.method, params: { jobId: null } },
    ...[
      { prompt: '  ' },
      { prompt: 'x'.repeat(4001) },
      { width: 500 },
      { height: 4096 },
      { width: 0 },
      { steps: 0 },
      { steps: 151 },
      { steps: 2.5 },
      { guidanceScale: Number.NaN },
      { guidanceScale: -1 },
      { scheduler: 'karras_magic' },
      { seed: -1 },
      { seed: 2 ** 32 },
      { numImages: 0 },
      { numImages: 9 },
      { negativePrompt: 5 },
      { text: 7 },
      { text: 'x'.repeat(501) },
      { candidates: -1 },
      { candidates: 17 },
      { candidates: 1.5 },
      { exactFallback: 'yes' },
      { numImages: 2, candidates: 4 },
      { numImages: 2, candidates: 1, exactFallback: true },
    ].map((patch) => ({ method: SubmitJob.method, params: { request: { ...request, ...patch } } })),
    { method: SubmitJob.method, params: { request: { ...request, seed: undefined } } },
  ];
  for (const message of bad) assert.equal(parseMessage(webviewToHost, message), undefined, JSON.stringify(message));
});

const legibility: GalleryLegibility = {
  target: 'OPEN 24/7',
  ocrText: 'OPEN 2417',
  cer: 0.1111,
  exactMatch: false,
  ocrConfidence: 81.3,
  exactTextFallback: false,
  candidateCount: 4,
  chosen: false,
};
const galleryImage: GalleryImage = { id: 'assets/generated/a.png', name: 'a.png', uri: 'u', thumbnailUri: 't', mtimeMs: 1, size: 2, legibility };

test('an image legibility record passes when every field is in bounds', () => {
  const message = ImagesChanged.create({ images: [galleryImage, { ...galleryImage, legibility: undefined }] });
  assert.deepEqual(parseMessage(hostToWebview, structuredClone(message)), structuredClone(message));
  assert.ok(isGalleryLegibility({ ...legibility, cer: 1.5 }), 'a CER above 1 (insertions) is real');
  assert.ok(isGalleryLegibility({ ...legibility, ocrText: '' }), 'OCR may read nothing');
  assert.ok(isGalleryLegibility({ ...legibility, mode: 'layout', candidateCount: 48 }), 'layout-first: up to 16 candidates in each of three phases');
});

test('the webview drops images whose legibility record is malformed or out of bounds', () => {
  for (const patch of [
    { target: '' },
    { target: ' \n ' },
    { target: 'x'.repeat(legibilityLimits.textChars + 1) },
    { ocrText: 'x'.repeat(legibilityLimits.textChars + 1) },
    { ocrText: 5 },
    { cer: -0.1 },
    { cer: Number.NaN },
    { cer: Infinity },
    { cer: '0.1' },
    { exactMatch: 'yes' },
    { ocrConfidence: 101 },
    { exactTextFallback: undefined },
    { candidateCount: 0 },
    { candidateCount: legibilityLimits.maxCandidates + 1 },
    { candidateCount: 2.5 },
    { mode: 'inpaint' },
    { chosen: 1 },
  ]) {
    const raw = { method: ImagesChanged.method, params: { images: [{ ...galleryImage, legibility: { ...legibility, ...patch } }] } };
    assert.equal(parseMessage(hostToWebview, raw), undefined, JSON.stringify(patch));
  }
  const raw = { method: ImagesChanged.method, params: { images: [{ ...galleryImage, legibility: 'exact' }] } };
  assert.equal(parseMessage(hostToWebview, raw), undefined);
});

test('a job update is either a generation (its request) or a drawing (its image and text), never both or neither', () => {
  const fields = { jobId: 'j', state: 'running', step: 0, totalSteps: 0, image: 0, elapsedMs: 0, outputs: [] };
  const drawing = { ...fields, kind: 'drawText', drawText: { source: 'assets/generated/sign.png', target: 'OPEN\n24/7' }, detail: 'Drawing “OPEN / 24/7”…' };
  for (const job of [drawing, { ...fields, request }, { ...fields, kind: 'generate', request }]) {
    assert.deepEqual(parseMessage(hostToWebview, JobUpdated.create({ job: structuredClone(job) as JobView })), JobUpdated.create({ job: job as JobView }));
  }
  for (const job of [
    fields,
    { ...drawing, request },
    { ...fields, request, drawText: drawing.drawText },
    { ...drawing, kind: 'paint' },
    { ...drawing, drawText: { source: 'a.png', target: '  ' } },
    { ...drawing, drawText: { source: 'a.png', target: 'x'.repeat(501) } },
    { ...drawing, drawText: { source: 7, target: 'OPEN' } },
    { ...drawing, kind: undefined },
  ]) {
    assert.equal(parseMessage(hostToWebview, { method: JobUpdated.method, params: { job } }), undefined, JSON.stringify(job));
  }
});
