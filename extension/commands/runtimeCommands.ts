// Commands around the runtime itself: restart after giving up, show the log, set the hub token.
import * as vscode from 'vscode';
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
  );
}
