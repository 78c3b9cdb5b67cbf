// Commands around the runtime and its model: restart after giving up, show the log, set the hub
// token, get the model (download, or a local folder) and cancel its download.
import * as vscode from 'vscode';
import { cancelModelDownloadCommand } from '../model/modelManager.ts';
import type { LetterpressServices } from '../services.ts';

export function registerRuntimeCommands(context: vscode.ExtensionContext, services: LetterpressServices): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('letterpress.restartRuntime', async () => {
      await services.supervisor.restart();
      services.models.forget();
      void vscode.window.showInformationMessage('Letterpress: the runtime will start again with the next job.');
    }),
    vscode.commands.registerCommand('letterpress.showLog', () => services.log.show()),
    vscode.commands.registerCommand('letterpress.setHuggingFaceToken', () => services.models.setToken()),
    // The walkthrough's "Get the model" step, and the status-bar item's cancel while it downloads.
    vscode.commands.registerCommand('letterpress.downloadModel', () => services.models.downloadFromCommand()),
    vscode.commands.registerCommand('letterpress.useLocalModelFolder', async () => {
      if (await services.models.useLocalFolder()) await services.models.downloadFromCommand();
    }),
    vscode.commands.registerCommand(cancelModelDownloadCommand, () => services.models.cancelModelDownload()),
  );
}
