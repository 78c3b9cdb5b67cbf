// Activation: builds the shared services and registers each feature. Keep this file to
// registrations only; features live in their own modules.
import type * as vscode from 'vscode';
import { registerDrawExactTextCommand } from './commands/drawExactTextCommand.ts';
import { registerExportImageCommand } from './commands/exportImageCommand.ts';
import { registerGallery } from './gallery/registerGallery.ts';
import { registerGenerateFromCommentCommand } from './commands/generateFromCommentCommand.ts';
import { registerGenerateImageCommand } from './commands/generateImageCommand.ts';
import { registerGenerateFromImageCommand } from './commands/generateFromImageCommand.ts';
import { registerManageModelCacheCommand } from './commands/manageModelCacheCommand.ts';
import { registerRuntimeCommands } from './commands/runtimeCommands.ts';
import { createServices } from './services.ts';

export function activate(context: vscode.ExtensionContext): void {
  const services = createServices(context);
  registerRuntimeCommands(context, services);
  registerManageModelCacheCommand(context, services);
  registerGenerateImageCommand(context, services);
  registerGenerateFromImageCommand(context, services);
  registerGenerateFromCommentCommand(context, services);
  registerDrawExactTextCommand(context, services);
  registerExportImageCommand(context, services);
  registerGallery(context, services);
}

export function deactivate(): void {}
