import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GalleryJobs } from '../extension/gallery/galleryJobs.ts';
import type { DrawTextJobRequest, GalleryJobHandle, GalleryJobOutputs } from '../extension/gallery/galleryJobs.ts';
import { isJobView } from '../webview/protocol.ts';
import type { GenerationRequest, JobView } from '../webview/protocol.ts';
import type { ProgressEvent } from '../runtime/protocol/generationTypes.ts';

const request: GenerationRequest = {
  prompt: 'a sign that says "OPEN"',
  negativePrompt: '',
  width: 64,
  height: 64,
  steps: 4,
  guidanceScale: 7.5,
  seed: 1,
  numImages: 2,
};

class FakeJob implements GalleryJobHandle {
  readonly listeners = new Set<(event: ProgressEvent) => void>();
  cancelled = false;
  resolve!: (files: GalleryJobOutputs) => void;
  reject!: (error: unknown) => void;
  readonly result = new Promise<GalleryJobOutputs>((res, rej) => {
    this.resolve = res;
    this.reject = rej;
  });
  constructor(readonly id: string) {}
  onProgress(listener: (event: ProgressEvent) => void) {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }
  emit(event: ProgressEvent) {
    for (const l of this.listeners) l(event);
  }
  cancel() {
    this.cancelled = true;
  }
}

function setup() {
  let clock = 1000;
  const made: FakeJob[] = [];
  const drawRequests: DrawTextJobRequest[] = [];
  const make = () => {
    const job = new FakeJob(`job-${made.length + 1}`);
    made.push(job);
    return job;
  };
  const jobs = new GalleryJobs(
    {
      generate: make,
      drawText: (request) => {
        drawRequests.push(request);
        return make();
      },
    },
    () => clock,
  );
  const updates: JobView[] = [];
  jobs.onDidUpdate((job) => updates.push(job));
  return { jobs, made, updates, drawRequests, tick: (ms: number) => (clock += ms) };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('a job goes from queued through loading and steps to done, every update valid for the webview', async () => {
  const { jobs, made, updates, tick } = setup();
  const view = jobs.submit(request);
  assert.equal(view.state, 'queued');
  const job = made[0];
  job.emit({ status: 'convert', component: 'unet', done: 3, total: 10 });
  assert.equal(updates.at(-1)?.state, 'loading');
  assert.match(updates.at(-1)?.detail ?? '', /Converting unet.*3\/10/);
  tick(5000);
  const preview = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
  job.emit({ status: 'step', step: 1, total: 4, image: 0, elapsedMs: 100, preview });
  tick(400);
  job.emit({ status: 'step', step: 2, total: 4, image: 0, elapsedMs: 500 });
  const running = updates.at(-1)!;
  assert.equal(running.state, 'running');
  assert.equal(running.step, 2);
  assert.equal(running.detail, undefined);
  // Elapsed counts from the first step, not from the model load before it.
  assert.equal(running.elapsedMs, 500);
  // A step without a preview keeps the last one.
  assert.equal(running.previewUri, `data:image/png;base64,${Buffer.from(preview).toString('base64')}`);
  job.resolve({ outputs: ['assets/generated/open.png', 'assets/generated/open-2.png'], candidates: [] });
  await settle();
  const done = updates.at(-1)!;
  assert.equal(done.state, 'done');
  assert.deepEqual(done.outputs, ['assets/generated/open.png', 'assets/generated/open-2.png']);
  assert.equal('candidates' in done, false, 'no candidates kept: none listed');
  assert.equal(done.previewUri, undefined);
  for (const update of updates) assert.ok(isJobView(update), JSON.stringify(update));
  assert.equal(job.listeners.size, 0, 'progress subscription is released');
});

test('cancel reaches the backend; a cancelled or failed job says so', async () => {
  const { jobs, made, updates } = setup();
  const a = jobs.submit(request);
  const b = jobs.submit(request);
  assert.equal(jobs.cancel(b.jobId), true);
  assert.equal(made[1].cancelled, true);
  made[1].reject(Object.assign(new Error('Cancelled.'), { code: 'cancelled' }));
  made[0].reject(new Error('Width must be a multiple of 8'));
  await settle();
  const byId = new Map(updates.map((u) => [u.jobId, u]));
  assert.equal(byId.get(b.jobId)?.state, 'cancelled');
  assert.equal(byId.get(a.jobId)?.state, 'failed');
  assert.equal(byId.get(a.jobId)?.error, 'Width must be a multiple of 8');
  assert.equal(jobs.cancel(a.jobId), false, 'a finished job cannot be cancelled');
  const abort = jobs.submit(request);
  made[2].reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
  await settle();
  assert.equal(jobs.list().find((j) => j.jobId === abort.jobId)?.state, 'cancelled');
});

test('a backend that refuses at once gives a failed job instead of throwing', () => {
  const jobs = new GalleryJobs({
    generate: () => {
      throw new Error('Open a folder to generate images into.');
    },
  });
  const view = jobs.submit(request);
  assert.equal(view.state, 'failed');
  assert.equal(view.error, 'Open a folder to generate images into.');
});

test('progress after the end is ignored and only the last finished jobs are kept', async () => {
  const { jobs, made } = setup();
  for (let i = 0; i < 7; i++) jobs.submit(request);
  made.forEach((job, i) => job.resolve({ outputs: [`a/${i}.png`] }));
  await settle();
  made[6].emit({ status: 'step', step: 1, total: 4, image: 0, elapsedMs: 1 });
  const listed = jobs.list();
  assert.equal(listed.length, 5);
  assert.deepEqual(listed.map((j) => j.outputs[0]), ['a/2.png', 'a/3.png', 'a/4.png', 'a/5.png', 'a/6.png']);
  assert.ok(listed.every((j) => j.state === 'done'));
});

test('a step that advanced a batch of images says how many', async () => {
  const { jobs, made, updates } = setup();
  jobs.submit(request);
  made[0].emit({ status: 'step', step: 1, total: 4, image: 0, images: 2, elapsedMs: 10 });
  assert.equal(updates.at(-1)?.images, 2);
  made[0].emit({ status: 'step', step: 2, total: 4, image: 0, images: 1, elapsedMs: 20 });
  assert.equal('images' in updates.at(-1)!, false, 'one image is the plain case');
  for (const update of updates) assert.ok(isJobView(update));
});

test('a best-of-N job lists the candidates it kept besides the chosen image', async () => {
  const { jobs, made, updates } = setup();
  jobs.submit({ ...request, numImages: 1, candidates: 4 });
  made[0].resolve({ outputs: ['assets/generated/open.png'], candidates: ['assets/generated/candidates/open.png', 'assets/generated/candidates/open-2.png'] });
  await settle();
  const done = updates.at(-1)!;
  assert.deepEqual(done.candidates, ['assets/generated/candidates/open.png', 'assets/generated/candidates/open-2.png']);
  assert.ok(isJobView(done));
});

test('between the steps the row says when the text is read, scored and drawn', () => {
  const { jobs, made, updates } = setup();
  jobs.submit({ ...request, numImages: 1, candidates: 4 });
  const job = made[0];
  job.emit({ status: 'step', step: 4, total: 4, image: 1, elapsedMs: 10 });
  job.emit({ status: 'legibility', phase: 'read', candidate: 1, candidates: 4 });
  assert.equal(updates.at(-1)?.detail, 'Reading the text of candidate 2/4');
  job.emit({ status: 'legibility', phase: 'scored', candidate: 1, candidates: 4, exactMatch: false, cer: 0.25 });
  assert.equal(updates.at(-1)?.detail, 'Text of candidate 2/4: CER 0.25');
  job.emit({ status: 'legibility', phase: 'scored', candidate: 0, candidates: 1, exactMatch: true, cer: 0 });
  assert.equal(updates.at(-1)?.detail, 'Text: ✓ exact');
  job.emit({ status: 'legibility', phase: 'draw', candidate: 0, candidates: 4 });
  assert.equal(updates.at(-1)?.detail, 'Drawing the exact text');
  assert.equal(updates.at(-1)?.state, 'running');
  job.emit({ status: 'step', step: 1, total: 4, image: 2, elapsedMs: 20 });
  assert.equal(updates.at(-1)?.detail, undefined, 'the next step replaces it');
});

test('Fix text runs as a job of the list: queued, "Drawing “OPEN”…", done with the new image, every update valid', async () => {
  const { jobs, made, updates, drawRequests, tick } = setup();
  assert.equal(jobs.canDrawText, true);
  const view = jobs.drawText({ source: 'assets/generated/sign.png', path: '/ws/assets/generated/sign.png', target: 'OPEN\n24/7' });
  assert.deepEqual(drawRequests, [{ source: 'assets/generated/sign.png', path: '/ws/assets/generated/sign.png', target: 'OPEN\n24/7' }]);
  assert.equal(view.kind, 'drawText');
  assert.equal(view.state, 'queued');
  assert.ok(!('path' in view && view.path), 'the absolute path stays on the host');
  const job = made[0]!;
  job.emit({ status: 'legibility', phase: 'read', candidate: 0, candidates: 1 });
  assert.equal(updates.at(-1)?.state, 'running');
  assert.equal(updates.at(-1)?.detail, 'Reading the text of sign.png…');
  tick(700);
  job.emit({ status: 'legibility', phase: 'draw', candidate: 0, candidates: 1 });
  assert.equal(updates.at(-1)?.detail, 'Drawing “OPEN / 24/7”…');
  assert.equal(updates.at(-1)?.elapsedMs, 700);
  job.resolve({ outputs: ['assets/generated/sign-text.png'] });
  await settle();
  const done = updates.at(-1)!;
  assert.equal(done.state, 'done');
  assert.deepEqual(done.outputs, ['assets/generated/sign-text.png']);
  assert.equal(done.detail, undefined);
  for (const update of updates) assert.ok(isJobView(update), JSON.stringify(update));
});

test('a Fix text job can be cancelled, and a failure keeps the runtime\'s message', async () => {
  const { jobs, made, updates } = setup();
  const first = jobs.drawText({ source: 'a.png', path: '/ws/a.png', target: 'OPEN' });
  assert.equal(jobs.cancel(first.jobId), true);
  assert.equal(made[0]!.cancelled, true);
  made[0]!.reject(Object.assign(new Error('Cancelled.'), { code: 'cancelled' }));
  const second = jobs.drawText({ source: 'b.png', path: '/ws/b.png', target: 'OPEN' });
  made[1]!.reject(new Error('b.png is not a PNG image.'));
  await settle();
  assert.equal(jobs.list().find((j) => j.jobId === first.jobId)?.state, 'cancelled');
  const failed = jobs.list().find((j) => j.jobId === second.jobId)!;
  assert.equal(failed.state, 'failed');
  assert.equal(failed.error, 'b.png is not a PNG image.');
  for (const update of updates) assert.ok(isJobView(update), JSON.stringify(update));
});

test('without a drawing backend Fix text cannot run as a job', () => {
  const jobs = new GalleryJobs({ generate: () => new FakeJob('g') });
  assert.equal(jobs.canDrawText, false);
  const view = jobs.drawText({ source: 'a.png', path: '/ws/a.png', target: 'OPEN' });
  assert.equal(view.state, 'failed');
  assert.equal(view.kind, 'drawText');
});
