// One status-bar item: what the runtime is doing and which execution provider it used.
import * as vscode from 'vscode';
import type { JobQueue } from './jobQueue.ts';
import type { RuntimeSupervisor } from './runtimeSupervisor.ts';

const providerNames: Record<string, string> = {
  cuda: 'CUDA',
  tensorrt: 'TensorRT',
  dml: 'DirectML',
  directml: 'DirectML',
  coreml: 'CoreML',
  webgpu: 'WebGPU',
  cpu: 'CPU',
};

/** "CUDA" for "cuda" or "CUDAExecutionProvider". */
export function providerDisplayName(provider: string): string {
  const key = provider.toLowerCase().replace(/executionprovider$/, '');
  return providerNames[key] ?? provider;
}

export class RuntimeStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('letterpress.runtime', vscode.StatusBarAlignment.Right, 100);
  private readonly subscriptions: { dispose(): void }[] = [];
  private provider: string | undefined;
  private providerNote = '';

  constructor(
    private readonly supervisor: RuntimeSupervisor,
    private readonly jobs: JobQueue,
  ) {
    this.item.name = 'Letterpress';
    this.subscriptions.push(
      supervisor.onDidChangeState(() => this.update()),
      jobs.onDidChange(() => this.update()),
    );
    this.update();
    this.item.show();
  }

  /** Called with the provider a finished generation reports. */
  setProvider(provider: string, note: string): void {
    this.provider = providerDisplayName(provider);
    this.providerNote = note;
    this.update();
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.item.dispose();
  }

  private update(): void {
    const state = this.supervisor.state;
    const jobs = this.jobs.jobs;
    const running = jobs.find((j) => j.state === 'running');
    const queued = jobs.length - (running ? 1 : 0);
    const name = this.provider ? `Letterpress: ${this.provider}` : 'Letterpress';
    this.item.command = 'letterpress.showLog';
    this.item.backgroundColor = undefined;
    const lines = [`Runtime: ${state}`];
    if (this.provider) lines.push(`Execution provider: ${this.provider}${this.providerNote ? ` (${this.providerNote})` : ''}`);
    if (state === 'failed') {
      this.item.text = '$(error) Letterpress: stopped';
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
      this.item.command = 'letterpress.restartRuntime';
      lines.push(this.supervisor.failureReason ?? '', 'Click to restart the runtime.');
    } else if (state === 'restarting') {
      this.item.text = '$(sync~spin) Letterpress: restarting';
    } else if (running) {
      const p = running.lastProgress;
      const detail =
        p?.status === 'step' ? `${p.step}/${p.total}` : p?.status === 'download' && p.total > 0 ? `${Math.floor((p.bytes / p.total) * 100)}%` : p?.status ?? 'starting';
      this.item.text = `$(loading~spin) ${name} ${detail}${queued > 0 ? ` (+${queued})` : ''}`;
      lines.push(`Running: ${running.label}`, queued > 0 ? `${queued} queued` : '');
    } else if (state === 'starting') {
      this.item.text = `$(loading~spin) ${name}`;
    } else {
      this.item.text = `$(symbol-color) ${name}`;
    }
    lines.push('Click to show the log.');
    this.item.tooltip = lines.filter(Boolean).join('\n');
  }
}
