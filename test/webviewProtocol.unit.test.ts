import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CancelJob, CountTokens, PanelReady, RunImageAction, SubmitJob, parseMessage, webviewToHost } from '../webview/protocol.ts';
import type { GenerationRequest } from '../webview/protocol.ts';

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
    CancelJob.create({ jobId: 'a-b-c' }),
    RunImageAction.create({ id: 'assets/generated/a.png', action: 'delete' }),
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
    ].map((patch) => ({ method: SubmitJob.method, params: { request: { ...request, ...patch } } })),
    { method: SubmitJob.method, params: { request: { ...request, seed: undefined } } },
  ];
  for (const message of bad) assert.equal(parseMessage(webviewToHost, message), undefined, JSON.stringify(message));
});
