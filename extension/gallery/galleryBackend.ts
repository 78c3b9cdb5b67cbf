// The gallery's jobs run through the extension's shared job queue and land in the output folder the
// same way the commands' images do (readable name, never overwriting, atomic; losing candidates in
// `candidates/`): this adapts the host's services to the panel's GalleryJobBackend. "Fix text"
// drawings go the same way, placed as the Draw Exact Text command places them.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import * as vscode from 'vscode';
import type { GenerateOptions, ProgressEvent } from '../../runtime/protocol/generationTypes.ts';
import { isRuntimeError, RuntimeError } from '../../runtime/protocol/runtimeProtocol.ts';
import { drawAndPlace } from '../commands/drawExactTextCommand.ts';
import { Emitter } from '../runtime/emitter.ts';
import { imagePresets } from '../jobs/imagePresets.ts';
import { placeGeneratedImages } from '../workspace/imagePlacement.ts';
import { legibilityOptionsFor } from '../jobs/legibilityOptions.ts';
import { outputBaseName } from '../workspace/outputFileName.ts';
import type { LetterpressServices } from '../services.ts';
import { readSettings } from '../settings.ts';
import { resolveOutputFolder } from '../workspace/workspacePaths.ts';
import type { GenerationRequest } from '../../webview/protocol.ts';
import type { DrawTextJobRequest, GalleryJobBackend, GalleryJobHandle, GalleryJobOutputs } from './galleryJobs.ts';

export function createGalleryBackend(services: LetterpressServices): GalleryJobBackend {
  return {
    generate(request) {
      const workspaceFolder = vscode.workspace.workspaceFolders?.[0];
      if (!workspaceFolder) throw new Error('Open a folder to generate images into it.');
      return startJob(services, workspaceFolder, request);
    },
    drawText(request) {
      const workspaceFolder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(request.path)) ?? vscode.workspace.workspaceFolders?.[0];
      if (!workspaceFolder) throw new Error('Open a folder first; the image with the text drawn on it is saved inside the workspace.');
      return startDrawJob(services, workspaceFolder, request);
    },
  };
}

/** "Fix text" as a job of the panel: the command's drawing and placement, followed in the job row instead of a notification. */
function startDrawJob(services: LetterpressServices, workspaceFolder: vscode.WorkspaceFolder, request: DrawTextJobRequest): GalleryJobHandle {
  const progress = new Emitter<ProgressEvent>();
  let cancelled = false;
  let cancelRunning: (() => void) | undefined;
  const root = workspaceFolder.uri.fsPath;
  const result = drawAndPlace(services, { imagePath: request.path, target: request.target, workspaceFolder }, (job) => {
    cancelRunning = () => job.cancel();
    if (cancelled) job.cancel();
    job.onProgress((event) => progress.fire(event));
  })
    .then(({ path }) => ({ outputs: [relative(root, path).split(sep).join('/')] }))
    .catch((error: unknown) => {
      if (!isRuntimeError(error, 'cancelled')) {
        services.log.error(`Drawing the text on ${request.source} failed: ${error instanceof Error ? error.message : String(error)}${isRuntimeError(error) && error.detail ? `\n${error.detail}` : ''}`);
      }
      throw error;
    })
    .finally(() => progress.dispose());
  return {
    id: randomUUID(),
    result,
    onProgress: progress.event,
    cancel() {
      cancelled = true;
      cancelRunning?.();
    },
  };
}

function startJob(services: LetterpressServices, workspaceFolder: vscode.WorkspaceFolder, request: GenerationRequest): GalleryJobHandle {
  const id = randomUUID();
  const progress = new Emitter<ProgressEvent>();
  let cancelled = false;
  let cancelRunning: (() => void) | undefined;
  const throwIfCancelled = () => {
    if (cancelled) throw new RuntimeError('cancelled', 'Cancelled.');
  };

  const result = (async (): Promise<GalleryJobOutputs> => {
    const settings = readSettings(workspaceFolder.uri);
    const root = workspaceFolder.uri.fsPath;
    await resolveOutputFolder(root, settings.outputFolder);
    const modelDir = await services.models.ensure();
    throwIfCancelled();
    if (!modelDir) throw new RuntimeError('modelMissing', 'No model: download it or set "letterpress.model" to a model folder.');
    const options: GenerateOptions = {
      modelDir,
      prompt: request.prompt,
      negativePrompt: request.negativePrompt,
      steps: request.steps,
      guidanceScale: request.guidanceScale,
      ...(request.scheduler ? { scheduler: request.scheduler } : {}),
      width: request.width,
      height: request.height,
      seed: request.seed,
      numImages: request.numImages,
      device: settings.device,
      fp16: settings.fp16,
    };
    // Undefined without a text to check or with the check switched off: a plain job.
    const legibility = legibilityOptionsFor(
      {
        prompt: request.prompt,
        numImages: request.numImages,
        ...(request.text !== undefined ? { text: request.text } : {}),
        ...(request.candidates !== undefined ? { candidates: request.candidates } : {}),
        ...(request.exactFallback !== undefined ? { exactFallback: request.exactFallback } : {}),
      },
      settings,
    );
    const tempDir = await mkdtemp(join(tmpdir(), 'letterpress-gallery-'));
    try {
      const job = services.jobs.generate(request.prompt.slice(0, 40), { options, outputDir: tempDir, ...(legibility ? { legibility } : {}) });
      cancelRunning = () => job.cancel();
      if (cancelled) job.cancel();
      job.onProgress((event) => progress.fire(event));
      const generated = await job.result;
      services.statusBar.setProvider(generated.provider, generated.providerNote);
      // Checked again: the folder may have been replaced by a link while the job ran.
      const folder = await resolveOutputFolder(root, settings.outputFolder);
      const preset = imagePresets.find((p) => p.width === request.width && p.height === request.height)?.name;
      const baseName = outputBaseName(request.prompt, preset);
      const placed = await placeGeneratedImages(generated, folder, baseName);
      const toId = (path: string) => relative(root, path).split(sep).join('/');
      return { outputs: placed.images.map(toId), candidates: placed.candidates.map(toId) };
    } finally {
      await rm(tempDir, { recursive: true, force: true }).catch(() => {});
      progress.dispose();
    }
  })();

  return {
    id,
    result,
    onProgress: progress.event,
    cancel() {
      cancelled = true;
      cancelRunning?.();
    },
  };
}
