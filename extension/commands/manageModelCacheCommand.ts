// "Letterpress: Manage Model Cache…": what Letterpress keeps in its own cache (the converted graphs,
// beside the model in the Hugging Face cache) and removing what the user picks. The runtime reads
// and changes the cache; the host only shows it.
import * as vscode from 'vscode';
import { formatBytes } from '../../runtime/protocol/byteSize.ts';
import { listCacheRequest, removeCacheRequest, type CachedGraphInfo } from '../../runtime/protocol/runtimeProtocol.ts';
import type { LetterpressServices } from '../services.ts';

interface GraphItem extends vscode.QuickPickItem {
  graph: CachedGraphInfo;
}

function describeSize(graph: CachedGraphInfo): string {
  return graph.linkedBytes > 0 ? `${formatBytes(graph.bytes)} (+${formatBytes(graph.linkedBytes)} shared with the model)` : formatBytes(graph.bytes);
}

export function graphItem(graph: CachedGraphInfo): GraphItem {
  if (!graph.trusted) {
    return {
      label: `$(warning) ${graph.id}`,
      description: formatBytes(graph.bytes),
      detail: 'Not made by Letterpress or changed since: set aside, never loaded',
      graph,
    };
  }
  const revision = graph.revision ? ` @ ${graph.revision.slice(0, 12)}` : ' (local folder)';
  return {
    label: `${graph.component} · ${graph.precision}${graph.provider ? ` · ${graph.provider}` : ''}`,
    description: describeSize(graph),
    detail: `${graph.model}${revision}`,
    graph,
  };
}

export async function manageModelCache(services: LetterpressServices): Promise<void> {
  const listing = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Window, title: 'Letterpress: reading the model cache' },
    () => services.supervisor.request(listCacheRequest, {}),
  );
  if (listing.graphs.length === 0) {
    void vscode.window.showInformationMessage(`Letterpress keeps no converted models (cache: ${listing.cacheDir}).`);
    return;
  }
  const total = listing.graphs.reduce((sum, g) => sum + g.bytes, 0);
  const picked = await vscode.window.showQuickPick(
    listing.graphs.map(graphItem),
    {
      canPickMany: true,
      matchOnDetail: true,
      title: `Letterpress model cache: ${formatBytes(total)} in ${listing.cacheDir}`,
      placeHolder: 'Pick the converted graphs to remove (they are converted again when next needed)',
    },
  );
  if (!picked || picked.length === 0) return;
  const bytes = picked.reduce((sum, item) => sum + item.graph.bytes, 0);
  const what = picked.length === 1 ? '1 converted graph' : `${picked.length} converted graphs`;
  const choice = await vscode.window.showWarningMessage(
    `Remove ${what} (${formatBytes(bytes)})?`,
    { modal: true, detail: 'The model itself stays; Letterpress converts again what it needs, which takes a moment on the next generation.' },
    'Remove',
  );
  if (choice !== 'Remove') return;
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Letterpress: removing ${what}` },
    () => services.supervisor.request(removeCacheRequest, { ids: picked.map((item) => item.graph.id) }),
  );
  const gone = result.unknown.length > 0 ? ` (${result.unknown.length} were already gone)` : '';
  void vscode.window.showInformationMessage(`Letterpress: removed ${result.removed.length} of the converted graphs, ${formatBytes(result.freedBytes)} freed${gone}.`);
}

export function registerManageModelCacheCommand(context: vscode.ExtensionContext, services: LetterpressServices): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('letterpress.manageModelCache', async () => {
      try {
        await manageModelCache(services);
      } catch (error) {
        void vscode.window.showErrorMessage(`Letterpress could not manage the model cache: ${error instanceof Error ? error.message : String(error)}`);
      }
    }),
  );
}
