// One image job from the user's point of view: check the output folder and the model, queue the job
// with a cancellable progress notification, then move the runtime's PNG from its temp folder into
// the workspace under a readable name. Shared by both commands.
import { randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { GenerateOptions } from '../runtime/generationTypes.ts';
import { isRuntimeError, type GenerateImageResult } from '../runtime/protocol.ts';
import { outputBaseName } from './outputFileName.ts';
import type { LetterpressServices } from './services.ts';
import { readSettings } from './settings.ts';
import { OutputPathError, resolveOutputFolder } from './workspacePaths.ts';
import { placeFileInFolder } from './workspaceWrite.ts';

export interface ImageJobRequest {
  prompt: string;
  negativePrompt?: string;
  width: number;
  height: number;
  /** Preset name for the file name ("banner"). */
  presetName?: string;
  workspaceFolder: vscode.WorkspaceFolder;
}

export interface PlacedImage {
  path: string;
  seed: number;
  parameters: string;
}

export function shortPrompt(prompt: string, max = 40): string {
  return prompt.length > max ? `${prompt.slice(0, max - 1)}…` : prompt;
}

/** Generates and places the image; undefined when cancelled or failed (the user has been told). */
export async function generateIntoWorkspace(services: LetterpressServices, request: ImageJobRequest): Promise<PlacedImage[] | undefined> {
  const settings = readSettings(request.workspaceFolder.uri);
  const root = request.workspaceFolder.uri.fsPath;
  let outputFolder: string;
  try {
    outputFolder = await resolveOutputFolder(root, settings.outputFolder);
  } catch (error) {
    if (!(error instanceof OutputPathError)) throw error;
    const choice = await vscode.window.showErrorMessage(`Letterpress: ${error.message}`, 'Open Settings');
    if (choice) void vscode.commands.executeCommand('workbench.action.openSettings', 'letterpress.outputFolder');
    return undefined;
  }

  let modelDir: string | undefined;
  try {
    modelDir = await services.models.ensure();
  } catch (error) {
    reportFailure(services, error);
    return undefined;
  }
  if (!modelDir) return undefined;

  const options: GenerateOptions = {
    modelDir,
    prompt: request.prompt,
    negativePrompt: request.negativePrompt ?? '',
    steps: settings.steps,
    guidanceScale: settings.guidanceScale,
    ...(settings.scheduler ? { scheduler: settings.scheduler } : {}),
    width: request.width,
    height: request.height,
    seed: settings.seed ?? randomInt(0, 2 ** 31),
    numImages: 1,
    device: settings.device,
    fp16: settings.fp16,
  };

  const tempDir = await mkdtemp(join(tmpdir(), 'letterpress-'));
  try {
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Letterpress: “${shortPrompt(request.prompt)}”`, cancellable: true },
      (progress, cancellation) => runJob(services, options, tempDir, progress, cancellation),
    );
    if (!result) return undefined;
    services.statusBar.setProvider(result.provider, result.providerNote);
    services.log.info(`Generated ${result.images.length} image(s) on ${result.provider}: ${JSON.stringify(result.timingsMs)}`);
    // Checked again: the folder may have been replaced by a link while the job ran.
    const folder = await resolveOutputFolder(root, settings.outputFolder);
    const baseName = outputBaseName(request.prompt, request.presetName);
    const placed: PlacedImage[] = [];
    for (const image of result.images) {
      placed.push({ path: await placeFileInFolder(image.file, folder, baseName), seed: image.seed, parameters: image.parameters });
    }
    return placed;
  } catch (error) {
    reportFailure(services, error);
    return undefined;
  } finally {
    await rm(tempDir, { recursive: true, force: true }).catch(() => {});
  }
}

async function runJob(
  services: LetterpressServices,
  options: GenerateOptions,
  outputDir: string,
  progress: vscode.Progress<{ message?: string; increment?: number }>,
  cancellation: vscode.CancellationToken,
): Promise<GenerateImageResult | undefined> {
  const job = services.jobs.generate(shortPrompt(options.prompt), { options, outputDir });
  cancellation.onCancellationRequested(() => job.cancel());
  const ahead = services.jobs.jobs.findIndex((j) => j.id === job.id);
  if (ahead > 0) progress.report({ message: `waiting for ${ahead} job${ahead > 1 ? 's' : ''} to finish` });
  let done = 0;
  job.onProgress((event) => {
    switch (event.status) {
      case 'step': {
        const fraction = (event.step / event.total) * 100;
        progress.report({ increment: Math.max(0, fraction - done), message: `step ${event.step}/${event.total}` });
        done = Math.max(done, fraction);
        break;
      }
      case 'convert':
        progress.report({ message: `preparing ${event.component} (first run only)` });
        break;
      case 'load':
        progress.report({ message: `loading ${event.component} on ${event.provider}` });
        break;
      case 'decode':
        progress.report({ message: 'decoding' });
        break;
      case 'message':
        if (event.level === 'warning') {
          services.log.warn(event.text);
          void vscode.window.showWarningMessage(`Letterpress: ${event.text}`);
        } else services.log.info(event.text);
        break;
      default:
        break;
    }
  });
  try {
    return await job.result;
  } catch (error) {
    if (isRuntimeError(error, 'cancelled')) {
      void vscode.window.showInformationMessage('Letterpress: image generation cancelled.');
      return undefined;
    }
    throw error;
  }
}

function reportFailure(services: LetterpressServices, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  services.log.error(`Image generation failed: ${message}${isRuntimeError(error) && error.detail ? `\n${error.detail}` : ''}`);
  const actions = isRuntimeError(error, 'unavailable') ? ['Restart Runtime', 'Show Log'] : ['Show Log'];
  void vscode.window.showErrorMessage(`Letterpress: image generation failed: ${message}`, ...actions).then((choice) => {
    if (choice === 'Show Log') services.log.show();
    if (choice === 'Restart Runtime') void vscode.commands.executeCommand('letterpress.restartRuntime');
  });
}
