// The host's one job flow (extension/jobs/jobFlow.ts) with a real runtime process and the tiny model:
// what the palette, the comment command and the gallery all run. A generation lands in the output
// folder under a readable name that never replaces a file; the job's id is its id in the host's queue;
// cancelling before it is queued, while queued or while it runs writes nothing and leaves no
// temporary folder; a declined model or a bad output folder stops it before anything is queued;
// a drawing lands beside its image.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { startDrawing, startGeneration, ModelDeclinedError, type FlowServices, type JobWorkspace } from '../extension/jobs/jobFlow.ts';
import type { LetterpressSettings } from '../extension/settings.ts';
import { OutputPathError, WorkspaceFileError } from '../extension/workspace/workspacePaths.ts';
import { parseStartImageRecord } from '../runtime/png/startImageRecord.ts';
import { readPngTextChunks } from '../runtime/png/pngTextChunks.ts';
import type { ProgressEvent } from '../runtime/protocol/generationTypes.ts';
import type { FixTextParams } from '../runtime/protocol/runtimeProtocol.ts';
import { useRuntimeHarness } from './runtimeHarness.ts';
import { rejection } from './runtimeRejection.ts';

const harness = useRuntimeHarness('letterpress-jobflow-');

const settings: LetterpressSettings = {
  model: '',
  outputFolder: 'assets/generated',
  steps: 2,
  guidanceScale: 7.5,
  device: 'cpu',
  fp16: false,
  seed: 700,
  idleUnloadMs: 600_000,
  codeLens: true,
  checkText: false,
  candidates: 1,
  exactTextFallback: false,
  keepCandidates: true,
  // These jobs are about the flow, not layout-first text (which would add images to quoted prompts).
  textLayout: 'off',
  textLayoutStrength: 0.7,
};

/** The services a job uses, with the real queue; records what was queued and where the runtime wrote. */
function services(ensure: () => Promise<string | undefined> = async () => harness.modelDir, locate: () => Promise<string | undefined> = ensure) {
  const queuedIds: string[] = [];
  const outputDirs: string[] = [];
  const providers: string[] = [];
  const fixes: Omit<FixTextParams, 'jobId'>[] = [];
  const flow: FlowServices = {
    jobs: {
      generate: (label, params, id) => {
        outputDirs.push(params.outputDir);
        const job = harness.queue.generate(label, params, id);
        queuedIds.push(job.id);
        return job;
      },
      drawText: (label, params, id) => {
        outputDirs.push(params.outputDir);
        const job = harness.queue.drawText(label, params, id);
        queuedIds.push(job.id);
        return job;
      },
      fixText: (label, params, id) => {
        outputDirs.push(params.outputDir);
        fixes.push(params);
        const job = harness.queue.fixText(label, params, id);
        queuedIds.push(job.id);
        return job;
      },
    },
    models: { ensure, locate },
    statusBar: { setProvider: (provider) => providers.push(provider) },
    log: { info: () => undefined },
  };
  return { flow, queuedIds, outputDirs, providers, fixes };
}

async function workspace(overrides: Partial<LetterpressSettings> = {}): Promise<JobWorkspace> {
  const root = await mkdtemp(join(harness.scratch, 'workspace-'));
  return { root, settings: { ...settings, ...overrides }, roots: [root], trusted: true };
}

const request = (ws: JobWorkspace) => ({ workspace: ws, prompt: 'a neon sign that says "OPEN 24/7"', width: 192, height: 192, presetName: 'Icon' });

test('a generation lands in the output folder under the readable name, then -2; its id is the queue id; no temp folder is left', async () => {
  const ws = await workspace();
  const s = services();
  const events: ProgressEvent[] = [];
  const job = startGeneration(s.flow, request(ws));
  job.onProgress((event) => events.push(event));
  const plan = await job.queued;
  assert.deepEqual(plan, { numImages: 1, bestOfN: false });
  assert.deepEqual(s.queuedIds, [job.id], 'the flow queued the job under its own id');
  const first = await job.result;
  const folder = join(ws.root, 'assets', 'generated');
  assert.deepEqual(first.images.map((i) => i.path), [join(folder, 'open-24-7-icon.png')]);
  assert.equal(first.images[0]!.seed, 700);
  assert.match(readPngTextChunks(await readFile(first.images[0]!.path)).parameters ?? '', /Seed: 700/);
  assert.ok(events.some((e) => e.status === 'step'), 'step progress reached the follower');
  assert.deepEqual(s.providers, [first.provider]);

  const second = await startGeneration(s.flow, { ...request(ws), seed: 701 }).result;
  assert.deepEqual(second.images.map((i) => i.path), [join(folder, 'open-24-7-icon-2.png')], 'never replaces the first');
  assert.deepEqual((await readdir(folder)).sort(), ['open-24-7-icon-2.png', 'open-24-7-icon.png']);
  for (const dir of s.outputDirs) assert.ok(!existsSync(dir), `temp folder ${dir} removed`);
});

test('cancelled before it is queued (while the model is being fetched): nothing queued, nothing written', async () => {
  const ws = await workspace();
  let release!: (dir: string) => void;
  let asked!: () => void;
  const modelAsked = new Promise<void>((resolve) => (asked = resolve));
  const s = services(() => {
    asked();
    return new Promise((resolve) => (release = resolve));
  });
  const job = startGeneration(s.flow, request(ws));
  await modelAsked;
  job.cancel();
  release(harness.modelDir);
  assert.equal((await rejection(job.result)).code, 'cancelled');
  assert.equal((await rejection(job.queued)).code, 'cancelled');
  assert.deepEqual(s.queuedIds, []);
  assert.ok(!existsSync(join(ws.root, 'assets')));
});

test('cancelled while queued behind another job, or while running: nothing written, temp folders gone', async () => {
  const ws = await workspace({ steps: 40 });
  const s = services();
  const running = startGeneration(s.flow, request(ws));
  const waiting = startGeneration(s.flow, { ...request(ws), seed: 702 });
  await Promise.all([running.queued, waiting.queued]);
  waiting.cancel();
  assert.equal((await rejection(waiting.result)).code, 'cancelled');
  await new Promise<void>((resolve) => running.onProgress((event) => event.status === 'step' && resolve()));
  running.cancel();
  assert.equal((await rejection(running.result)).code, 'cancelled');
  assert.ok(!existsSync(join(ws.root, 'assets', 'generated')) || (await readdir(join(ws.root, 'assets', 'generated'))).length === 0);
  for (const dir of s.outputDirs) assert.ok(!existsSync(dir), `temp folder ${dir} removed`);
});

test('a declined model or an output folder outside the workspace stops the job before anything is queued', async () => {
  const declined = services(async () => undefined);
  const job = startGeneration(declined.flow, request(await workspace()));
  await assert.rejects(job.result, ModelDeclinedError);
  await assert.rejects(job.queued, ModelDeclinedError);
  assert.deepEqual(declined.queuedIds, []);

  const outside = services();
  const ws = await workspace({ outputFolder: '../elsewhere' });
  await assert.rejects(startGeneration(outside.flow, request(ws)).result, OutputPathError);
  assert.deepEqual(outside.queuedIds, []);
  assert.ok(!existsSync(join(ws.root, '..', 'elsewhere')));
});

test('Fix text: the model repaints the text region (steps, repair read by OCR), the plate when none reads; <stem>-text.png beside its image, then -text-2.png; without a model on disk, the plate alone', async () => {
  const ws = await workspace();
  const s = services();
  const source = (await startGeneration(s.flow, request(ws)).result).images[0]!.path;
  const original = await readFile(source);
  const events: ProgressEvent[] = [];
  const fixing = startDrawing(s.flow, { workspace: ws, imagePath: source, target: 'OPEN' });
  fixing.onProgress((event) => events.push(event));
  const first = await fixing.result;
  assert.equal(first.path, join(ws.root, 'assets', 'generated', 'open-24-7-icon-text.png'));
  assert.equal(first.result.legibility.target, 'OPEN');
  assert.deepEqual(s.fixes[0]?.model, { modelDir: harness.modelDir, device: 'cpu', fp16: false, candidates: 1 }, 'the repair runs the settings’ model, device and candidates');
  assert.ok(events.some((e) => e.status === 'step'), 'the inpainting steps reached the follower');
  assert.ok(events.some((e) => e.status === 'legibility' && e.mode === 'repair' && e.phase === 'scored'), 'the repair was read by OCR');
  // The tiny model's random weights spell nothing: the plate follows the repair.
  assert.equal(first.result.mode, 'plate');
  assert.equal(first.result.repairCandidates, 1);
  assert.equal(first.result.legibility.exactTextFallback, true);
  assert.deepEqual(await readFile(source), original, 'the original is only read');

  const noModel = services(async () => harness.modelDir, async () => undefined);
  const second = await startDrawing(noModel.flow, { workspace: ws, imagePath: source, target: 'OPEN' }).result;
  assert.equal(second.path, join(ws.root, 'assets', 'generated', 'open-24-7-icon-text-2.png'));
  assert.equal(noModel.fixes[0]?.model, undefined, 'no model on disk: Fix text never offers a download');
  assert.equal(second.result.mode, 'plate');
  assert.equal(second.result.repairCandidates, 0);
  assert.equal(s.queuedIds.length, 2);
  for (const dir of [...s.outputDirs, ...noModel.outputDirs]) assert.ok(!existsSync(dir), `temp folder ${dir} removed`);
});

test('image-to-image from a workspace image: Denoising strength in the parameters, the start image recorded relative to the workspace; a drawn rectangle inpaints; images outside the workspace (also through a link) are refused before anything is queued', async () => {
  const ws = await workspace();
  const s = services();
  const source = (await startGeneration(s.flow, request(ws)).result).images[0]!.path;
  const job = startGeneration(s.flow, { ...request(ws), seed: 710, startImage: { path: source, strength: 0.6 } });
  const made = await job.result;
  const chunks = readPngTextChunks(await readFile(made.images[0]!.path));
  assert.match(chunks.parameters ?? '', /Denoising strength: 0\.6/);
  const record = parseStartImageRecord(chunks.letterpress);
  assert.equal(record?.mode, 'img2img');
  assert.equal(record?.strength, 0.6);
  assert.equal(record?.image.path, 'assets/generated/open-24-7-icon.png');
  assert.equal(record?.image.sha256, createHash('sha256').update(await readFile(source)).digest('hex'));

  const box = { left: 16, top: 32, width: 96, height: 48 };
  const inpainted = await startGeneration(s.flow, { ...request(ws), seed: 711, startImage: { path: source, strength: 1, maskBox: box } }).result;
  const inpaintRecord = parseStartImageRecord(readPngTextChunks(await readFile(inpainted.images[0]!.path)).letterpress);
  assert.equal(inpaintRecord?.mode, 'inpaint');
  assert.deepEqual(inpaintRecord?.mask?.box, box);

  const outside = join(await mkdtemp(join(harness.scratch, 'outside-')), 'secret.png');
  await writeFile(outside, await readFile(source));
  const queuedBefore = s.queuedIds.length;
  await assert.rejects(startGeneration(s.flow, { ...request(ws), startImage: { path: outside, strength: 0.5 } }).result, WorkspaceFileError);
  await symlink(outside, join(ws.root, 'link.png'));
  await assert.rejects(startGeneration(s.flow, { ...request(ws), startImage: { path: join(ws.root, 'link.png'), strength: 0.5 } }).result, /outside the workspace/);
  await assert.rejects(startGeneration(s.flow, { ...request(ws), startImage: { path: source, strength: 0.5, maskPath: outside } }).result, WorkspaceFileError);
  assert.equal(s.queuedIds.length, queuedBefore, 'nothing queued');
});
