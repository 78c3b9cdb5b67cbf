// Wires the gallery into the extension: the Open Gallery command and the serializer that brings
// the panel back after a window reload.
import { dirname } from 'node:path';
import * as vscode from 'vscode';
import { exportImageInteractively } from '../commands/exportImageCommand.ts';
import { referenceText } from '../workspace/referenceInsertion.ts';
import type { LetterpressServices } from '../services.ts';
import { relativeReference } from '../workspace/workspacePaths.ts';
import { createGalleryBackend } from './galleryBackend.ts';
import { GalleryJobs } from './galleryJobs.ts';
import { galleryImageDragMime } from '../../webview/protocol.ts';
import { inspectImageRequest } from '../../runtime/protocol/runtimeProtocol.ts';
import { galleryMenuCommands } from './galleryMenuCommands.ts';
import { GalleryPanel, LastEditorTracker, galleryViewType } from './galleryPanel.ts';
import type { GalleryServices } from './galleryPanel.ts';

export const openGalleryCommand = 'letterpress.openGallery';

/** The panel's view of the extension's shared services. */
export function galleryServicesFrom(services: LetterpressServices): GalleryServices {
  return {
    jobs: createGalleryBackend(services),
    countTokens: (text) => services.models.countTokens(text),
    inspectImage: (path) => services.supervisor.request(inspectImageRequest, { path }),
    referenceFor: (document, image, alt) =>
      referenceText({ languageId: document.languageId, relativePath: relativeReference(dirname(document.uri.fsPath), image.fsPath), alt }),
    log: services.log,
    exportImage: (request) => exportImageInteractively(services.supervisor, request),
  };
}

export function registerGallery(context: vscode.ExtensionContext, letterpress: LetterpressServices): void {
  const services = galleryServicesFrom(letterpress);
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
    // The cards' native context menu: each command gets the card's data-vscode-context.
    ...galleryMenuCommands.map((name) =>
      vscode.commands.registerCommand(`letterpress.gallery.${name}`, (menuContext: unknown) => GalleryPanel.current?.runMenuCommand(name, menuContext)),
    ),
    // A card dragged from the gallery into an editor: the same reference Insert writes, at the drop point.
    vscode.languages.registerDocumentDropEditProvider([{ scheme: 'file' }, { scheme: 'untitled' }], {
      async provideDocumentDropEdits(document, _position, dataTransfer) {
        const id = await dataTransfer.get(galleryImageDragMime)?.asString();
        if (!id || id.length > 4096) return undefined;
        const text = GalleryPanel.current?.referenceForDrop(document, id.trim());
        return text === undefined ? undefined : new vscode.DocumentDropEdit(text);
      },
    }),
    { dispose: () => GalleryPanel.current?.dispose() },
  );
}
