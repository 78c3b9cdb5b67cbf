// The long-lived parts the commands (and the gallery panel) share: the runtime supervisor, the job
// queue, the model manager, the log and the status bar. Created once on activation.
import * as vscode from 'vscode';
import { JobQueue } from './runtime/jobQueue.ts';
import { ModelManager } from './model/modelManager.ts';
import { RuntimeSupervisor } from './runtime/runtimeSupervisor.ts';
import { readSettings } from './settings.ts';
import { RuntimeStatusBar } from './runtime/statusBar.ts';

export interface LetterpressServices {
  context: vscode.ExtensionContext;
  log: vscode.LogOutputChannel;
  supervisor: RuntimeSupervisor;
  jobs: JobQueue;
  models: ModelManager;
  statusBar: RuntimeStatusBar;
}

export function createServices(context: vscode.ExtensionContext): LetterpressServices {
  const log = vscode.window.createOutputChannel('Letterpress', { log: true });
  const supervisor = new RuntimeSupervisor({
    modulePath: context.asAbsolutePath('dist/runtime.js'),
    log,
    idleUnloadMs: readSettings().idleUnloadMs,
  });
  const jobs = new JobQueue(supervisor);
  const models = new ModelManager(context, supervisor, jobs, log);
  const statusBar = new RuntimeStatusBar(supervisor, jobs);
  supervisor.onDidExit((event) => {
    if (!event.expected && event.restartInMs === undefined) {
      void vscode.window.showErrorMessage(supervisor.failureReason ?? 'The Letterpress runtime stopped.', 'Show Log', 'Restart Runtime').then((choice) => {
        if (choice === 'Show Log') log.show();
        if (choice === 'Restart Runtime') void vscode.commands.executeCommand('letterpress.restartRuntime');
      });
    }
  });
  context.subscriptions.push(
    log,
    // Disposal order: the queue first (cancels jobs), then the process tree.
    { dispose: () => jobs.dispose() },
    { dispose: () => supervisor.dispose() },
    statusBar,
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('letterpress.idleUnloadMinutes')) void supervisor.setIdleUnloadMs(readSettings().idleUnloadMs);
      if (event.affectsConfiguration('letterpress.model')) models.forget();
    }),
  );
  return { context, log, supervisor, jobs, models, statusBar };
}
