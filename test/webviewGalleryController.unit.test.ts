import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { imageMenuContext, provenanceText, textIsOff, toolbarActions } from '../webview/cardActions.ts';
import { galleryMenuCommands } from '../extension/gallery/galleryMenuCommands.ts';
import { GalleryController, estimateRemainingMs, formatDuration, jobImageCount, jobImageLabel, jobTitle } from '../webview/galleryController.ts';
import { isGenerationRequest } from '../webview/protocol.ts';
import { limits } from '../runtime/protocol/limits.ts';
import {
  CancelJob,
  CountTokens,
  FillForm,
  ImagesChanged,
  InitState,
  JobUpdated,
  PanelReady,
  RunImageAction,
  RunWebviewImageCommand,
  StartImageChosen,
  ChooseStartImage,
  SubmitJob,
  TokensCounted,
} from '../webview/protocol.ts';
import type { DrawTextJobView, GalleryConfig, GalleryImage, GalleryLegibility, GenerateJobView, GenerationRequest, JobView, WebviewToHostMessage } from '../webview/protocol.ts';

class FakeHost {
  readonly sent: WebviewToHostMessage[] = [];
  postMessage(message: WebviewToHostMessage): void {
    // Real webviews structured-clone what they post; so does this fake, so no shared objects leak.
    this.sent.push(structuredClone(message));
  }
  ofMethod(method: string) {
    return this.sent.filter((m) => m.method === method);
  }
}

const config: GalleryConfig = {
  outputFolder: 'assets/generated',
  presets: [
    { id: '512x512', label: 'Icon 512×512', width: 512, height: 512 },
    { id: '1024x256', label: 'Banner 1024×256', width: 1024, height: 256 },
    { id: '768x256', label: 'Banner 768×256', width: 768, height: 256 },
    { id: '768x512', label: 'Mockup 768×512', width: 768, height: 512 },
  ],
  defaults: { steps: 20, guidanceScale: 6, scheduler: 'euler' },
  schedulers: [
    { name: 'ddim', label: 'DDIM' },
    { name: 'euler', label: 'Euler' },
  ],
  canGenerate: true,
};

function image(id: string, mtimeMs: number, prompt?: string, extra: Partial<GalleryImage['settings']> = {}): GalleryImage {
  return {
    id,
    name: id.split('/').pop()!,
    uri: `https://file+.vscode-resource.vscode-cdn.net/ws/${id}`,
    thumbnailUri: `https://file+.vscode-resource.vscode-cdn.net/thumbs/${id}`,
    mtimeMs,
    size: 1000,
    ...(prompt === undefined ? {} : { settings: { prompt, negativePrompt: '', ...extra } }),
  };
}

function seeds(...values: number[]): () => number {
  return () => {
    const next = values.shift();
    if (next === undefined) throw new Error('test ran out of seeds');
    return next;
  };
}

function started(randomSeed = seeds(1, 2, 3, 4, 5)) {
  const host = new FakeHost();
  const controller = new GalleryController(host, { randomSeed });
  controller.start();
  controller.receive(InitState.create({ config, images: [], jobs: [] }));
  return { host, controller };
}

const request: GenerationRequest = {
  prompt: 'a sign that says "OPEN"',
  negativePrompt: '',
  width: 512,
  height: 512,
  steps: 4,
  guidanceScale: 7.5,
  seed: 7,
  numImages: 1,
};

function job(patch: Partial<GenerateJobView>): GenerateJobView {
  return { jobId: 'j1', request, state: 'queued', step: 0, totalSteps: 4, image: 0, elapsedMs: 0, outputs: [], ...patch };
}

test('starts by telling the host it is ready, then takes the host defaults', () => {
  const { host, controller } = started();
  assert.equal(host.sent[0].method, PanelReady.method);
  assert.equal(controller.state.form.steps, 20);
  assert.equal(controller.state.form.guidanceScale, 6);
  assert.equal(controller.state.form.scheduler, 'euler');
});

test('a restored form keeps its own values over the host defaults', () => {
  const host = new FakeHost();
  const persisted = { form: { ...new GalleryController(host).state.form, steps: 9, prompt: 'kept' }, search: 'kept' };
  const controller = new GalleryController(host, { persisted });
  controller.start();
  controller.receive(InitState.create({ config, images: [], jobs: [] }));
  assert.equal(controller.state.form.steps, 9);
  assert.equal(controller.state.search, 'kept');
  // The restored prompt gets its token count asked for right away.
  assert.equal(host.ofMethod(CountTokens.method).length, 1);
});

test('typing asks for a token count and keeps only the answer for the latest text', () => {
  const { host, controller } = started();
  controller.updateForm({ prompt: 'a' });
  controller.updateForm({ prompt: 'a b c' });
  const asks = host.ofMethod(CountTokens.method);
  assert.equal(asks.length, 2);
  const [first, second] = asks.map((m) => m.params as { requestId: number; text: string });
  assert.equal(second.text, 'a b c');
  // The answer for the newer text arrives first; the stale one after it must not overwrite it.
  controller.receive(TokensCounted.create({ requestId: second.requestId, count: 3, limit: 75 }));
  controller.receive(TokensCounted.create({ requestId: first.requestId, count: 1, limit: 75 }));
  assert.deepEqual(controller.state.tokens, { count: 3, limit: 75 });
  assert.equal(controller.tokensOverLimit, false);
  controller.updateForm({ prompt: 'long' });
  const last = host.ofMethod(CountTokens.method).at(-1)!.params as { requestId: number };
  controller.receive(TokensCounted.create({ requestId: last.requestId, count: 76, limit: 75 }));
  assert.equal(controller.tokensOverLimit, true);
});

test('submitting with an unlocked seed draws a new seed per job and shows it', () => {
  const { host, controller } = started(seeds(111, 222));
  controller.updateForm({ prompt: 'a banner that says "HELLO"', preset: '1024x256', numImages: 2 });
  const first = controller.submit();
  const second = controller.submit();
  assert.equal(first?.seed, 111);
  assert.equal(second?.seed, 222);
  assert.equal(controller.state.form.seed, 222);
  const submitted = host.ofMethod(SubmitJob.method).map((m) => (m.params as { request: GenerationRequest }).request);
  assert.equal(submitted.length, 2);
  assert.equal(submitted[0].width, 1024);
  assert.equal(submitted[0].height, 256);
  assert.equal(submitted[0].numImages, 2);
  assert.equal(submitted[0].scheduler, 'euler');
});

test('a locked seed is reused for every job', () => {
  const { host, controller } = started(seeds());
  controller.updateForm({ prompt: 'x', seed: 1234, seedLocked: true });
  controller.submit();
  controller.submit();
  const used = host.ofMethod(SubmitJob.method).map((m) => (m.params as { request: GenerationRequest }).request.seed);
  assert.deepEqual(used, [1234, 1234]);
});

test('an invalid form is not submitted and says what to fix', () => {
  const { host, controller } = started();
  controller.updateForm({ prompt: '   ', preset: 'custom', width: 500, steps: 0 });
  assert.equal(controller.submit(), undefined);
  assert.equal(host.ofMethod(SubmitJob.method).length, 0);
  const errors = controller.state.formErrors.join('\n');
  assert.match(errors, /Enter a prompt/);
  assert.match(errors, /Width must be a multiple of 8/);
  assert.match(errors, /Steps must be/);
});

test('the default scheduler is left out of the request so the model decides', () => {
  const { host, controller } = started();
  controller.updateForm({ prompt: 'x', scheduler: '' });
  controller.submit();
  const sent = host.ofMethod(SubmitJob.method)[0].params as { request: GenerationRequest };
  assert.equal('scheduler' in sent.request, false);
});

test('size presets set width and height; typing a preset size selects it again', () => {
  const { controller } = started();
  controller.updateForm({ preset: '768x512' });
  assert.deepEqual([controller.state.form.width, controller.state.form.height], [768, 512]);
  controller.updateForm({ width: 640 });
  assert.equal(controller.state.form.preset, 'custom');
  controller.updateForm({ width: 768, height: 256 });
  assert.equal(controller.state.form.preset, '768x256');
});

test('generation is refused with the host reason when the window cannot generate', () => {
  const host = new FakeHost();
  const controller = new GalleryController(host, { randomSeed: seeds(1) });
  controller.receive(InitState.create({ config: { ...config, canGenerate: false, reason: 'Trust this workspace to generate.' }, images: [], jobs: [] }));
  controller.updateForm({ prompt: 'x' });
  assert.equal(controller.submit(), undefined);
  assert.deepEqual(controller.state.formErrors, ['Trust this workspace to generate.']);
});

test('job updates are tracked newest first and cancel goes to the host', () => {
  const { host, controller } = started();
  controller.receive(JobUpdated.create({ job: job({ jobId: 'a' }) }));
  controller.receive(JobUpdated.create({ job: job({ jobId: 'b' }) }));
  controller.receive(JobUpdated.create({ job: job({ jobId: 'a', state: 'running', step: 2 }) }));
  assert.deepEqual(
    controller.state.jobs.map((j) => [j.jobId, j.state, j.step]),
    [
      ['b', 'queued', 0],
      ['a', 'running', 2],
    ],
  );
  controller.cancel('b');
  assert.deepEqual(host.ofMethod(CancelJob.method).at(-1)?.params, { jobId: 'b' });
});

test('the preview of a running job is kept until the finished job replaces it', () => {
  const { controller } = started();
  const preview = 'data:image/png;base64,iVBORw0KGgo=';
  controller.receive(JobUpdated.create({ job: job({ state: 'running', step: 2, previewUri: preview }) }));
  assert.equal(controller.state.jobs[0].previewUri, preview);
  controller.receive(JobUpdated.create({ job: job({ state: 'done', step: 4, outputs: ['assets/generated/open.png'] }) }));
  assert.equal(controller.state.jobs[0].previewUri, undefined);
  assert.deepEqual(controller.state.jobs[0].outputs, ['assets/generated/open.png']);
});

test('images are shown newest first and filtered by every word of the search', () => {
  const { controller } = started();
  controller.receive(
    ImagesChanged.create({
      images: [
        image('assets/generated/old.png', 1, 'a red sign that says OPEN'),
        image('assets/generated/new.png', 3, 'a blue banner that says Hello'),
        image('assets/generated/mid.png', 2, 'an OPEN green door'),
        image('assets/generated/other-tool.png', 0),
      ],
    }),
  );
  assert.deepEqual(
    controller.state.images.map((i) => i.name),
    ['new.png', 'mid.png', 'old.png', 'other-tool.png'],
  );
  controller.setSearch('open');
  assert.deepEqual(controller.visibleImages.map((i) => i.name), ['mid.png', 'old.png']);
  controller.setSearch('OPEN sign');
  assert.deepEqual(controller.visibleImages.map((i) => i.name), ['old.png']);
  controller.setSearch('other-tool');
  assert.deepEqual(controller.visibleImages.map((i) => i.name), ['other-tool.png']);
  controller.setSearch('');
  assert.equal(controller.visibleImages.length, 4);
});

test('regenerate reuses the image settings and seed; vary draws a new seed', () => {
  const { host, controller } = started(seeds(999));
  const settings = { steps: 8, sampler: 'DDIM', scheduler: 'ddim' as const, guidanceScale: 5, seed: 42, width: 768, height: 256 };
  controller.receive(ImagesChanged.create({ images: [image('assets/generated/a.png', 1, 'a sign "A"', settings)] }));
  const again = controller.regenerate('assets/generated/a.png', false);
  const varied = controller.regenerate('assets/generated/a.png', true);
  assert.deepEqual(again, {
    prompt: 'a sign "A"',
    negativePrompt: '',
    width: 768,
    height: 256,
    steps: 8,
    guidanceScale: 5,
    scheduler: 'ddim',
    seed: 42,
    numImages: 1,
    candidates: 1,
    exactFallback: false,
  });
  // A new seed gets the form's best of N (Auto here).
  assert.deepEqual(varied, { ...again, seed: 999, candidates: 0 });
  assert.equal(host.ofMethod(SubmitJob.method).length, 2);
});

test('an image without settings cannot be regenerated; missing fields come from the form', () => {
  const { host, controller } = started(seeds(5));
  controller.receive(
    ImagesChanged.create({
      images: [image('x/plain.png', 1), image('x/partial.png', 2, 'only a prompt')],
    }),
  );
  assert.equal(controller.regenerate('x/plain.png', false), undefined);
  assert.equal(controller.regenerate('x/unknown.png', false), undefined);
  const partial = controller.regenerate('x/partial.png', false);
  assert.equal(partial?.steps, 20);
  assert.equal(partial?.width, 512);
  assert.equal(partial?.seed, 5);
  assert.equal(host.ofMethod(SubmitJob.method).length, 1);
});

test('image actions are sent with the image id', () => {
  const { host, controller } = started();
  controller.imageAction('assets/generated/a.png', 'insertReference');
  controller.imageAction('assets/generated/a.png', 'delete');
  assert.deepEqual(
    host.ofMethod(RunImageAction.method).map((m) => m.params),
    [
      { id: 'assets/generated/a.png', action: 'insertReference' },
      { id: 'assets/generated/a.png', action: 'delete' },
    ],
  );
});

test('fill form locks the seed so the filled job is reproduced', () => {
  const { controller } = started();
  controller.receive(FillForm.create({ request: { ...request, width: 768, height: 512, seed: 77 } }));
  assert.equal(controller.state.form.prompt, request.prompt);
  assert.equal(controller.state.form.preset, '768x512');
  assert.equal(controller.state.form.seedLocked, true);
  assert.equal(controller.state.form.seed, 77);
});

test('unknown and malformed host messages are dropped without changing state', () => {
  const { controller } = started();
  let renders = 0;
  controller.onChange(() => renders++);
  const before = JSON.stringify(controller.state);
  const hostile = [
    null,
    'gallery/job/update',
    { method: 'gallery/unknown/thing', params: {} },
    { method: JobUpdated.method, params: { job: { ...job({}), state: 'exploded' } } },
    { method: JobUpdated.method, params: { job: { ...job({}), previewUri: 'javascript:alert(1)' } } },
    { method: JobUpdated.method, params: { job: { ...job({}), previewUri: 'data:image/png;base64,"><img src=x onerror=alert(1)>' } } },
    { method: ImagesChanged.method, params: { images: [{ id: 1 }] } },
    { method: TokensCounted.method, params: { requestId: '1', count: 2, limit: 75 } },
    { method: FillForm.method, params: { request: { ...request, width: 100 } } },
    { method: InitState.method },
  ];
  for (const message of hostile) assert.equal(controller.receive(message), false, JSON.stringify(message));
  assert.equal(renders, 0);
  assert.equal(JSON.stringify(controller.state), before);
});

test('remaining time follows the pace across all images of the job', () => {
  const two = { ...request, numImages: 2 };
  assert.equal(estimateRemainingMs(job({ step: 0 })), undefined);
  // 2 of 8 steps in 1 s: 6 steps left at 0.5 s each.
  assert.equal(estimateRemainingMs(job({ request: two, step: 2, totalSteps: 4, elapsedMs: 1000 })), 3000);
  // Second image, step 2: 6 of 8 done in 3 s.
  assert.equal(estimateRemainingMs(job({ request: two, image: 1, step: 2, totalSteps: 4, elapsedMs: 3000 })), 1000);
  assert.equal(formatDuration(65_400), '1:05');
  assert.equal(formatDuration(0), '0:00');
});

function submitted(host: FakeHost): GenerationRequest[] {
  return host.ofMethod(SubmitJob.method).map((m) => (m.params as { request: GenerationRequest }).request);
}

test('the text check fields start from the settings and go into the request', () => {
  const host = new FakeHost();
  const controller = new GalleryController(host, { randomSeed: seeds(1, 2) });
  controller.receive(InitState.create({ config: { ...config, defaults: { ...config.defaults, candidates: 4, exactFallback: true } }, images: [], jobs: [] }));
  assert.equal(controller.state.form.candidates, 4);
  assert.equal(controller.state.form.exactFallback, true);
  controller.updateForm({ prompt: 'a neon sign that says "OPEN 24/7" and \'late\'' });
  assert.equal(controller.quotedText, 'OPEN 24/7\nlate', 'the placeholder shows every quoted string');
  assert.equal(controller.targetText, 'OPEN 24/7\nlate');
  controller.submit();
  controller.updateForm({ text: '  OPEN   ALL NIGHT ' });
  assert.equal(controller.targetText, 'OPEN ALL NIGHT', 'the field wins over the quotes');
  controller.submit();
  const [quoted, explicit] = submitted(host);
  assert.equal('text' in quoted, false, 'an empty field leaves the quotes to the host');
  assert.equal(quoted.candidates, 4);
  assert.equal(quoted.exactFallback, true);
  assert.equal(explicit.text, '  OPEN   ALL NIGHT ');
  assert.ok(isGenerationRequest(quoted) && isGenerationRequest(explicit));
});

test('several candidates or the drawn text keep one image; auto with several images asks for one candidate', () => {
  const { host, controller } = started(seeds(1, 2, 3));
  controller.updateForm({ prompt: 'a sign that says "OPEN"', numImages: 3 });
  assert.equal(controller.keepsOneImage, false);
  controller.submit();
  assert.equal(submitted(host)[0].candidates, 1, 'Auto could be 4 on a GPU, which cannot go with 3 images');
  assert.equal(submitted(host)[0].numImages, 3);
  controller.updateForm({ candidates: 4 });
  assert.equal(controller.keepsOneImage, true);
  assert.equal(controller.state.form.numImages, 1);
  controller.updateForm({ candidates: 1, numImages: 2 });
  controller.updateForm({ exactFallback: true });
  assert.equal(controller.state.form.numImages, 1, 'the drawn text keeps one image too');
  // Typed back in anyway (the field is disabled, but state can come from elsewhere): refused.
  controller.updateForm({ numImages: 2 });
  assert.equal(controller.submit(), undefined);
  assert.match(controller.state.formErrors.join('\n'), /keep one image: set Images to 1/);
});

test('best of N without any text to check is refused with what to do', () => {
  const { host, controller } = started();
  controller.updateForm({ prompt: 'a sign without quotes', candidates: 4 });
  assert.equal(controller.submit(), undefined);
  assert.match(controller.state.formErrors.join('\n'), /no text to check: put it in quotes/);
  controller.updateForm({ text: 'OPEN' });
  assert.ok(controller.submit());
  // The runtime's limit, from the one table: the largest text goes through, one more character does not.
  controller.updateForm({ text: 'x'.repeat(limits.targetText.maxChars) });
  assert.ok(controller.submit());
  controller.updateForm({ text: 'x'.repeat(limits.targetText.maxChars + 1) });
  assert.equal(controller.submit(), undefined);
  assert.match(controller.state.formErrors.join('\n'), new RegExp(`longer than ${limits.targetText.maxChars} characters`));
  assert.equal(submitted(host).length, 2);
});

test('with the text check switched off, best of N is neither required nor refused', () => {
  const host = new FakeHost();
  const controller = new GalleryController(host, { randomSeed: seeds(1, 2) });
  controller.receive(InitState.create({ config: { ...config, defaults: { ...config.defaults, candidates: 4, exactFallback: true, checkText: false } }, images: [], jobs: [] }));
  controller.updateForm({ prompt: 'no quotes', numImages: 2 });
  assert.equal(controller.checksText, false);
  assert.equal(controller.keepsOneImage, false);
  assert.ok(controller.submit());
  assert.deepEqual([submitted(host)[0].candidates, submitted(host)[0].exactFallback], [1, false]);
  assert.ok(isGenerationRequest(submitted(host)[0]), 'the host would not drop it');
  // A typed text is a request to check it, setting or not.
  controller.updateForm({ text: 'OPEN' });
  assert.equal(controller.checksText, true);
  assert.equal(controller.keepsOneImage, true);
  assert.equal(controller.state.form.numImages, 1, 'best of 4 (from the settings) now applies: one image');
  assert.equal(submitted(host).length, 1);
  assert.equal(controller.submit()?.candidates, 4);
});

test('regenerating a checked image keeps its text; the same seed takes one candidate, a new seed the form\'s', () => {
  const { host, controller } = started(seeds(500));
  const legibility: GalleryLegibility = { target: 'OPEN\n24/7', ocrText: 'OPEN 24/7', cer: 0, exactMatch: true, ocrConfidence: 90, exactTextFallback: true, candidateCount: 4, chosen: true };
  controller.receive(ImagesChanged.create({ images: [{ ...image('a/open.png', 1, 'a sign "OPEN 24/7"', { seed: 42 }), legibility }] }));
  controller.updateForm({ candidates: 8 });
  const again = controller.regenerate('a/open.png', false)!;
  const varied = controller.regenerate('a/open.png', true)!;
  assert.deepEqual([again.text, again.candidates, again.exactFallback, again.seed], ['OPEN\n24/7', 1, true, 42]);
  assert.deepEqual([varied.text, varied.candidates, varied.exactFallback, varied.seed], ['OPEN\n24/7', 8, true, 500]);
  assert.equal(submitted(host).length, 2);
});

test('fill form takes the text fields of the request', () => {
  const { controller } = started();
  controller.updateForm({ text: 'old' });
  controller.receive(FillForm.create({ request: { ...request, text: 'NEW', candidates: 2, exactFallback: true } }));
  assert.deepEqual([controller.state.form.text, controller.state.form.candidates, controller.state.form.exactFallback], ['NEW', 2, true]);
  controller.receive(FillForm.create({ request }));
  assert.equal(controller.state.form.text, '', 'a request without a text uses the quotes again');
});

test('batched images and candidates count in the progress and the time left', () => {
  const eight = { ...request, numImages: 8 };
  // Images 1-4 together at step 2 of 4: 8 of 32 image-steps in 2 s.
  const batched = job({ request: eight, image: 0, images: 4, step: 2, totalSteps: 4, elapsedMs: 2000 });
  assert.equal(estimateRemainingMs(batched), 6000);
  assert.equal(jobImageLabel(batched), 'Images 1–4/8 · ');
  assert.equal(jobImageLabel(job({ request: { ...request, numImages: 3 }, image: 1 })), 'Image 2/3 · ');
  const bestOf4 = job({ request: { ...request, candidates: 4 }, image: 1, step: 1, totalSteps: 4, elapsedMs: 1000 });
  assert.equal(jobImageLabel(bestOf4), 'Candidate 2/4 · ');
  assert.equal(estimateRemainingMs(bestOf4), 2200, '5 of 16 steps in 1 s: 11 left at 0.2 s');
  assert.equal(jobImageLabel(job({})), '');
  // Auto candidates: the count shows up only as the images come.
  assert.equal(jobImageLabel(job({ request: { ...request, candidates: 0 }, image: 0, images: 2 })), 'Images 1–2/2 · ');
});

test('a losing candidate follows the image its job kept, though placed a moment later', () => {
  const { controller } = started();
  const legibility: GalleryLegibility = { target: 'HI', ocrText: '', cer: 1, exactMatch: false, ocrConfidence: 0, exactTextFallback: false, candidateCount: 2, chosen: true };
  controller.receive(
    ImagesChanged.create({
      images: [
        { ...image('a/older.png', 1_000, 'older'), legibility },
        { ...image('a/hi.png', 50_000, 'a sign "HI"'), legibility },
        { ...image('a/candidates/hi-seed-6.png', 50_040, 'a sign "HI"'), legibility: { ...legibility, chosen: false } },
        image('a/newer.png', 70_000, 'newer'),
      ],
    }),
  );
  assert.deepEqual(controller.state.images.map((i) => i.id), ['a/newer.png', 'a/hi.png', 'a/candidates/hi-seed-6.png', 'a/older.png']);
});

test('a Fix text job is titled by its image and text and counts as one image with no steps', () => {
  const drawing: DrawTextJobView = {
    jobId: 'd1',
    kind: 'drawText',
    drawText: { source: 'assets/generated/signs/shop.png', target: 'OPEN\n24/7' },
    state: 'running',
    step: 0,
    totalSteps: 0,
    image: 0,
    elapsedMs: 300,
    outputs: [],
  };
  assert.equal(jobTitle(drawing), 'Fix text on shop.png: “OPEN / 24/7”');
  assert.equal(jobTitle(job({})), request.prompt);
  assert.equal(jobImageCount(drawing), 1);
  assert.equal(jobImageLabel(drawing), '');
  assert.equal(estimateRemainingMs(drawing), undefined);
  // A drawing among generation jobs: the list keeps both, newest first.
  const { controller } = started();
  controller.receive(JobUpdated.create({ job: job({ jobId: 'g1' }) }));
  controller.receive(JobUpdated.create({ job: drawing }));
  assert.deepEqual(controller.state.jobs.map((j) => j.kind ?? 'generate'), ['drawText', 'generate']);
});

const legible = (patch: Partial<GalleryLegibility>): GalleryLegibility => ({
  target: 'OPEN',
  ocrText: 'OPEN',
  cer: 0,
  exactMatch: true,
  ocrConfidence: 90,
  exactTextFallback: false,
  candidateCount: 3,
  chosen: true,
  ...patch,
});

test('the detail pane follows the selection; an image that goes away is no longer selected; the selection survives a reload', () => {
  const { host, controller } = started();
  const kept = { ...image('assets/generated/sign.png', 30, 'a sign that says "OPEN"'), legibility: legible({ cer: 0.2, exactMatch: false }) };
  controller.receive(ImagesChanged.create({ images: [kept, image('assets/generated/other.png', 20, 'other')] }));
  controller.select('assets/generated/nope.png');
  assert.equal(controller.selectedImage, undefined, 'an id the gallery lacks selects nothing');
  controller.select('assets/generated/sign.png');
  assert.equal(controller.state.selectedId, 'assets/generated/sign.png');
  assert.equal(controller.persistable().selectedId, 'assets/generated/sign.png');
  const reloaded = new GalleryController(new FakeHost(), { persisted: structuredClone(controller.persistable()) });
  assert.equal(reloaded.state.selectedId, 'assets/generated/sign.png');
  controller.receive(ImagesChanged.create({ images: [image('assets/generated/other.png', 20, 'other')] }));
  assert.equal(controller.selectedImage, undefined);
  // The host's context menu asks the page to select or regenerate an image.
  controller.receive(RunWebviewImageCommand.create({ id: 'assets/generated/other.png', command: 'select' }));
  assert.equal(controller.state.selectedId, 'assets/generated/other.png');
  controller.receive(RunWebviewImageCommand.create({ id: 'assets/generated/other.png', command: 'vary' }));
  assert.equal(host.ofMethod(SubmitJob.method).length, 1);
  assert.equal(controller.receive({ method: RunWebviewImageCommand.method, params: { id: 'x', command: 'delete' } }), false, 'only the page\'s own commands');
});

test('the candidates of an image are the losers its job placed in candidates/ beside it, best first', () => {
  const { controller } = started();
  const prompt = 'a sign that says "OPEN"';
  const kept = { ...image('assets/generated/sign.png', 30, prompt), legibility: legible({}) };
  const loser = (name: string, cer: number, p = prompt) => ({ ...image(`assets/generated/candidates/${name}`, 29, p), legibility: legible({ chosen: false, cer, exactMatch: false }) });
  controller.receive(
    ImagesChanged.create({
      images: [
        kept,
        loser('sign-seed-9.png', 0.5),
        loser('sign-seed-4-2.png', 0.25),
        loser('sign-2-seed-5.png', 0.1),
        loser('signpost-seed-1.png', 0.1),
        loser('sign-seed-3.png', 0.1, 'another prompt'),
        image('assets/generated/candidates/sign-seed-8.png', 28, prompt),
      ],
    }),
  );
  assert.deepEqual(
    controller.candidatesOf(kept).map((i) => i.name),
    ['sign-seed-4-2.png', 'sign-seed-9.png'],
  );
  assert.deepEqual(controller.candidatesOf(loser('sign-seed-9.png', 0.5)), [], 'a loser has no candidates of its own');
});

test('a card offers Insert, Open, Vary and Variations on its toolbar, Fix text only where the text is off; its menu context says what applies', () => {
  const plain = image('assets/generated/plain.png', 1);
  const off = { ...image('assets/generated/off.png', 2, 'a sign that says "OPEN"'), legibility: legible({ cer: 0.4, exactMatch: false }) };
  assert.deepEqual(
    toolbarActions(plain).map((a) => [a.action, a.disabled]),
    [
      ['insertReference', false],
      ['open', false],
      ['vary', true],
      ['variations', true],
    ],
  );
  assert.deepEqual(
    toolbarActions(off).map((a) => a.action),
    ['insertReference', 'open', 'vary', 'variations', 'drawText'],
  );
  assert.deepEqual(imageMenuContext(off), {
    webviewSection: 'letterpressImage',
    letterpressImageId: 'assets/generated/off.png',
    letterpressHasPrompt: true,
    letterpressTextOff: true,
    preventDefaultContextMenuItems: true,
  });
  assert.equal(imageMenuContext(plain).letterpressHasPrompt, false);
  assert.equal(textIsOff({ ...off, legibility: legible({}) }), false);
});

test('package.json: every webview/context item is a registered gallery command, shown only on cards, with when-keys the cards set', () => {
  const manifest = JSON.parse(readFileSync(resolve('package.json'), 'utf8'));
  const items: { command: string; when: string }[] = manifest.contributes.menus['webview/context'];
  const contextKeys = Object.keys(imageMenuContext(image('a.png', 1)));
  assert.deepEqual(items.map((i) => i.command).sort(), galleryMenuCommands.map((c) => `letterpress.gallery.${c}`).sort());
  for (const item of items) {
    assert.match(item.when, /^webviewId == 'letterpress\.gallery' && webviewSection == 'letterpressImage'/);
    for (const key of item.when.replace(/'[^']*'/g, '').match(/letterpress[A-Z]\w+/g) ?? []) assert.ok(contextKeys.includes(key), `${item.command}: ${key}`);
    const declared = manifest.contributes.commands.find((c: { command: string }) => c.command === item.command);
    assert.ok(declared?.title, `${item.command} has a title`);
    assert.ok(manifest.contributes.menus.commandPalette.some((c: { command: string; when: string }) => c.command === item.command && c.when === 'false'), `${item.command} is kept out of the palette`);
  }
});

const signView = { id: 'art/sign.png', name: 'sign.png', uri: 'data:image/png;base64,AAAA', width: 300, height: 200, outputWidth: 296, outputHeight: 200 };

test('a start image from the host sets the output size; the request carries its id, strength and the drawn region on 8-pixel cells', () => {
  const { host, controller } = started(seeds(11, 12));
  controller.chooseStartImage({ pick: true });
  assert.deepEqual(host.ofMethod(ChooseStartImage.method).at(-1)?.params, { pick: true });
  assert.ok(controller.receive(StartImageChosen.create(signView)));
  assert.deepEqual([controller.state.form.width, controller.state.form.height, controller.state.form.preset], [296, 200, 'custom']);
  controller.updateForm({ prompt: 'a neon sign that says "OPEN"' });
  controller.setStrength(0.6);
  controller.setRegion({ left: 0.1, top: 0.25, width: 0.5, height: 0.3 });
  const submitted = controller.submit();
  assert.deepEqual(submitted?.startImage, { id: 'art/sign.png', strength: 0.6, maskBox: { left: 24, top: 48, width: 160, height: 64 } });
  assert.ok(isGenerationRequest(submitted), 'the host accepts it');
  // A click (no area) is no region; Remove drops the image.
  controller.setRegion({ left: 0.5, top: 0.5, width: 0.001, height: 0.001 });
  assert.equal(controller.state.start?.region, undefined);
  controller.clearStartImage();
  assert.equal(controller.submit()?.startImage, undefined);
});

test('a strength that leaves no step is refused in the form; the protocol refuses regions outside the image, paths climbing out and bad strengths', () => {
  const { host, controller } = started(seeds(11));
  controller.receive(StartImageChosen.create(signView));
  controller.updateForm({ prompt: 'a sign', steps: 4 });
  controller.setStrength(0.2);
  assert.equal(controller.submit(), undefined);
  assert.match(controller.state.formErrors.join(' '), /leaves no step/);
  assert.equal(host.ofMethod(SubmitJob.method).length, 0);
  const ok: GenerationRequest = { ...request, startImage: { id: 'art/sign.png', strength: 0.5, maskBox: { left: 0, top: 0, width: 512, height: 512 } } };
  assert.ok(isGenerationRequest(ok));
  assert.ok(!isGenerationRequest({ ...ok, startImage: { ...ok.startImage!, maskBox: { left: 8, top: 0, width: 512, height: 512 } } }), 'past the right edge');
  assert.ok(!isGenerationRequest({ ...ok, startImage: { ...ok.startImage!, maskBox: { left: 0, top: 0, width: 0, height: 8 } } }), 'empty');
  for (const id of ['../secret.png', '/etc/passwd', 'C:\\x.png', 'a/../../b.png', '']) assert.ok(!isGenerationRequest({ ...ok, startImage: { id, strength: 0.5 } }), id);
  assert.ok(!isGenerationRequest({ ...ok, startImage: { id: 'a.png', strength: 1.5 } }));
  assert.ok(!ChooseStartImage.validate({ uri: 'javascript:alert(1)' }));
  assert.ok(!ChooseStartImage.validate({ pick: true, id: 'a.png' }), 'one choice at a time');
  assert.ok(ChooseStartImage.validate({ uri: 'file:///ws/art/sign.png' }));
  assert.ok(!StartImageChosen.validate({ ...signView, uri: 'https://example.com/x.png' }), 'only data: URIs of images');
});

test('Variations: the host’s strength, the image’s own settings, a new seed, the form’s count (several: one candidate each)', () => {
  const { host, controller } = started(seeds(77));
  const settings = { steps: 8, sampler: 'DDIM', scheduler: 'ddim' as const, guidanceScale: 5, seed: 42, width: 768, height: 256 };
  controller.receive(ImagesChanged.create({ images: [image('assets/generated/a.png', 1, 'a sign "A"', settings)] }));
  controller.updateForm({ numImages: 3 });
  controller.receive(RunWebviewImageCommand.create({ id: 'assets/generated/a.png', command: 'variations', strength: 0.45 }));
  const sent = (host.ofMethod(SubmitJob.method).at(-1)?.params as { request: GenerationRequest } | undefined)?.request;
  assert.deepEqual(sent, {
    prompt: 'a sign "A"',
    negativePrompt: '',
    width: 768,
    height: 256,
    steps: 8,
    guidanceScale: 5,
    scheduler: 'ddim',
    seed: 77,
    numImages: 3,
    candidates: 1,
    exactFallback: false,
    startImage: { id: 'assets/generated/a.png', strength: 0.45 },
  });
});

test('provenance: "from sign.png, strength 0.6", a drawn rectangle, a layout, a repaired text region', () => {
  const base = image('assets/generated/n.png', 1, 'p');
  assert.equal(provenanceText(base), undefined);
  assert.equal(provenanceText({ ...base, source: { mode: 'img2img', strength: 0.6, image: 'art/sign.png' } }), 'from sign.png, strength 0.6');
  assert.equal(provenanceText({ ...base, source: { mode: 'inpaint', strength: 1, image: 'art/sign.png', mask: 'box' } }), 'from sign.png, a rectangle repainted, strength 1');
  assert.equal(provenanceText({ ...base, source: { mode: 'layout', strength: 0.7 } }), 'from a layout of the text, strength 0.7');
  assert.equal(provenanceText({ ...base, source: { mode: 'inpaint', strength: 0.6, mask: 'box' } }), 'text region repainted, strength 0.6');
});
