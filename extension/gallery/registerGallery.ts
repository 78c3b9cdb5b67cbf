// Wires the gallery into the extension: the Open Gallery command and the serializer that brings
// the panel back after a window reload.
import * as vscode from 'vscode';
import { GalleryJobs } from './galleryJobs.ts';
import { GalleryPanel, LastEditorTracker, galleryViewType } from './galleryPanel.ts';
import type { GalleryServices } from './galleryPanel.ts';

export const openGalleryCommand = 'letterpress.openGallery';

export function registerGallery(context: vscode.ExtensionContext, services: GalleryServices = {}): void {
  const editors = new LastEditorTracker();
  // Jobs outlive the panel: closing it while one runs and opening it again shows the job still going.
  const jobs = services.jobs ? new GalleryJobs(services.jobs) : undefined;
  context.subscriptions.push(
    editors,
    vscode.commands.registerCommand(openGalleryCommand, () => {
      GalleryPanel.show(context, services, editors, jobs);
    }),
    vscode.window.registerWebviewPanelSerializer(galleryViewType, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel) {
        // The form and search come back through the webview's own getState().
        GalleryPanel.revive(panel, context, services, editors, jobs);
      },
    }),
    { dispose: () => GalleryPanel.current?.dispose() },
  );
}
