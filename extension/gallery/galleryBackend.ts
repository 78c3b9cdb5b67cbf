// The gallery's jobs are the commands' jobs (jobs/jobFlow.ts: the host's one queue, the same checks,
// placement and cancellation); this adapts them to the panel's GalleryJobBackend, which shows them as
// job rows instead of notifications, and names what they wrote by workspace-relative path.
import { relative, resolve, sep } from 'node:path';
import * as vscode from 'vscode';
import { isRuntimeError } from '../../runtime/protocol/runtimeProtocol.ts';
import { imagePresets } from '../jobs/imagePresets.ts';
import { startDrawing, startGeneration, type FlowJob } from '../jobs/jobFlow.ts';
import { jobWorkspace } from '../jobs/jobWorkspace.ts';
import type { LetterpressServices } from '../services.ts';
import type { GalleryJobBackend, GalleryJobHandle, GalleryJobOutputs } from './galleryJobs.ts';

export function createGalleryBackend(services: LetterpressServices): GalleryJobBackend {
  return {
    generate(request) {
      const workspaceFolder = vscode.workspace.workspaceFolders?.[0];
      if (!workspaceFolder) throw new Error('Open a folder to generate images into it.');
      const root = workspaceFolder.uri.fsPath;
      const presetName = imagePresets.find((p) => p.width === request.width && p.height === request.height)?.name;
      const { startImage, ...rest } = request;
      // The page names its start image by workspace-relative path; jobFlow checks the file is inside the workspace.
      const start = startImage
        ? { startImage: { path: resolve(root, startImage.id), strength: startImage.strength, ...(startImage.maskBox ? { maskBox: startImage.maskBox } : {}) } }
        : {};
      const job = startGeneration(services, { ...rest, ...start, workspace: jobWorkspace(workspaceFolder), ...(presetName ? { presetName } : {}) });
      return asJobRow(job, (outcome) => ({ outputs: outcome.images.map((image) => workspaceId(root, image.path)), candidates: outcome.candidates.map((path) => workspaceId(root, path)) }));
    },
    drawText(request) {
      const workspaceFolder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(request.path)) ?? vscode.workspace.workspaceFolders?.[0];
      if (!workspaceFolder) throw new Error('Open a folder first; the image with the text drawn on it is saved inside the workspace.');
      const root = workspaceFolder.uri.fsPath;
      const job = startDrawing(services, { imagePath: request.path, target: request.target, workspace: jobWorkspace(workspaceFolder) });
      const row = asJobRow(job, (outcome) => ({ outputs: [workspaceId(root, outcome.path)] }));
      row.result.catch((error: unknown) => {
        if (isRuntimeError(error, 'cancelled')) return;
        services.log.error(`Drawing the text on ${request.source} failed: ${error instanceof Error ? error.message : String(error)}${isRuntimeError(error) && error.detail ? `\n${error.detail}` : ''}`);
      });
      return row;
    },
  };
}

function asJobRow<Outcome, Plan>(job: FlowJob<Outcome, Plan>, outputs: (outcome: Outcome) => GalleryJobOutputs): GalleryJobHandle {
  return { id: job.id, result: job.result.then(outputs), onProgress: job.onProgress, cancel: () => job.cancel() };
}

/** The gallery's id of a file: its workspace-relative path with forward slashes. */
function workspaceId(root: string, path: string): string {
  return relative(root, path).split(sep).join('/');
}
