// "Letterpress: Export Image…" (palette and the Explorer's context menu on PNGs) and the gallery's
// Export action: ask which preset, have the runtime write the files into `<output folder>/exports/<image>/`
// (a new folder when that one is taken, never replacing a file), say where they went.
import { basename, relative, sep } from 'node:path';
import * as vscode from 'vscode';
import { exportChoices, type ExportChoice } from '../../runtime/protocol/exportPresets.ts';
import { isRuntimeError } from '../../runtime/protocol/runtimeProtocol.ts';
import { exportImage } from '../jobs/imageExport.ts';
import { outputFolderOrExplain } from '../jobs/jobNotification.ts';
import type { RuntimeSupervisor } from '../runtime/runtimeSupervisor.ts';
import type { LetterpressServices } from '../services.ts';
import { readSettings } from '../settings.ts';
import { OutputPathError } from '../workspace/workspacePaths.ts';
import { pickWorkspaceImage } from './imagePicker.ts';

export const exportImageCommand = 'letterpress.exportImage';

export function registerExportImageCommand(context: vscode.ExtensionContext, services: LetterpressServices): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(exportImageCommand, async (resource?: unknown) => {
      const picked = await pickWorkspaceImage(
        resource,
        { title: 'Letterpress: Export Image', openLabel: 'Export' },
        { notLocal: 'only an image file on this machine can be exported.', noFolder: 'open a folder first; exports are saved inside the workspace.' },
      );
      if (!picked) return;
      const { image, workspaceFolder } = picked;
      const root = workspaceFolder.uri.fsPath;
      const outputFolder = await outputFolderOrExplain(root, readSettings(workspaceFolder.uri).outputFolder);
      if (outputFolder === undefined) return;
      await exportImageInteractively(services.supervisor, { imagePath: image.fsPath, workspaceRoot: root, outputFolder });
    }),
  );
}

/** Asks for a preset and exports in a cancellable notification; every message to the user is given here. */
export async function exportImageInteractively(
  supervisor: RuntimeSupervisor,
  request: { imagePath: string; workspaceRoot: string; outputFolder: string },
): Promise<void> {
  const name = basename(request.imagePath);
  const picked = await vscode.window.showQuickPick(
    exportChoices.map((choice) => ({ label: choice.label, detail: choice.detail, choice })),
    { title: `Export ${name}`, placeHolder: 'What to make from this image' },
  );
  if (!picked) return;
  const choice: ExportChoice = picked.choice;
  const root = request.workspaceRoot;
  let result;
  try {
    result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Letterpress: exporting ${name}`, cancellable: true },
      async (progress, token) => {
        const cancel = new AbortController();
        const subscription = token.onCancellationRequested(() => cancel.abort());
        try {
          return await exportImage(
            supervisor,
            { input: request.imagePath, workspaceRoot: root, outputFolder: request.outputFolder, choice },
            {
              signal: cancel.signal,
              onProgress: (event) => {
                if (event.status === 'message') progress.report({ message: event.text });
              },
            },
          );
        } finally {
          subscription.dispose();
        }
      },
    );
  } catch (error) {
    if (isRuntimeError(error, 'cancelled')) return;
    // The image, the folder or the runtime: what the user can act on, in one line.
    if (error instanceof OutputPathError || isRuntimeError(error)) {
      void vscode.window.showErrorMessage(`Letterpress: could not export ${name} as "${choice.label}": ${error.message}`);
      return;
    }
    throw error;
  }
  const where = relative(root, result.folder).split(sep).join('/');
  const count = result.files.length;
  const notes = result.notes.length > 0 ? ` (${result.notes.join('; ')})` : '';
  const reveal = 'Reveal in Explorer';
  const answer = await vscode.window.showInformationMessage(`Exported ${count} ${count === 1 ? 'file' : 'files'} to ${where}${notes}`, reveal);
  if (answer === reveal) {
    const first = result.files[0]?.path;
    await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(first ?? result.folder));
  }
}
