// Owns the runtime child process: starts it on first use, logs its stderr, restarts it after a
// crash with growing delays (and gives up, saying why, after repeated crashes), and kills its whole
// process tree on dispose. Free of `vscode` so the integration tests drive it with real processes.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { configureRequest, logNotification, parentPidEnv, RuntimeError, type NotificationType, type RequestType } from '../../runtime/protocol/runtimeProtocol.ts';
import { Emitter, type Disposable } from './emitter.ts';
import { listenValidated, RuntimeConnection, type RequestOptions } from './runtimeConnection.ts';

export interface RuntimeLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export type RuntimeState = 'stopped' | 'starting' | 'running' | 'restarting' | 'failed' | 'disposed';

export interface RuntimeExitEvent {
  pid: number | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines the process wrote to stderr: usually the reason of a crash. */
  stderrTail: string;
  /** True when we stopped it (dispose, restart): not a crash. */
  expected: boolean;
  /** Delay before the automatic restart; undefined when there is none (expected exit, or given up). */
  restartInMs?: number;
}

export interface RuntimeSupervisorOptions {
  /** Script the child runs (dist/runtime.js in the extension). */
  modulePath: string;
  /** Defaults to the editor's own executable, run as plain Node through ELECTRON_RUN_AS_NODE. */
  execPath?: string;
  execArgv?: string[];
  env?: NodeJS.ProcessEnv;
  log?: RuntimeLog;
  /** Delay before each consecutive restart; one more crash than there are entries gives up. */
  restartDelaysMs?: number[];
  /** Idle time after which the runtime unloads the model (sent with runtime/process/configure). */
  idleUnloadMs?: number;
  stderrTailLines?: number;
}

interface RunningProcess {
  child: ChildProcess;
  connection: RuntimeConnection;
  stderrLines: string[];
  expectedExit: boolean;
  exited: Promise<void>;
}

const silentLog: RuntimeLog = { info() {}, warn() {}, error() {} };

export class RuntimeSupervisor implements Disposable {
  private readonly log: RuntimeLog;
  private readonly restartDelaysMs: number[];
  private current: RunningProcess | undefined;
  private ready: Promise<RuntimeConnection> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private consecutiveCrashes = 0;
  private failure: string | undefined;
  private stateValue: RuntimeState = 'stopped';
  private idleUnloadMs: number;

  private readonly stateEmitter = new Emitter<RuntimeState>();
  private readonly exitEmitter = new Emitter<RuntimeExitEvent>();
  private readonly notificationEmitters = new Map<string, Emitter<unknown>>();
  readonly onDidChangeState = this.stateEmitter.event;
  readonly onDidExit = this.exitEmitter.event;

  constructor(private readonly options: RuntimeSupervisorOptions) {
    this.log = options.log ?? silentLog;
    this.restartDelaysMs = options.restartDelaysMs ?? [1000, 4000, 15000];
    this.idleUnloadMs = options.idleUnloadMs ?? 10 * 60_000;
  }

  get state(): RuntimeState {
    return this.stateValue;
  }

  get pid(): number | undefined {
    return this.current?.child.pid;
  }

  /** Why the supervisor gave up (state 'failed'). */
  get failureReason(): string | undefined {
    return this.failure;
  }

  /** Sends a request, starting (or waiting for the restart of) the runtime first. */
  async request<P, R>(type: RequestType<P, R>, params: NoInfer<P>, options?: RequestOptions): Promise<R> {
    const connection = await this.connection();
    const result = await connection.sendRequest(type, params, options);
    // A process that answers is healthy: only crashes in a row count towards giving up.
    this.consecutiveCrashes = 0;
    return result;
  }

  onNotification<P>(type: NotificationType<P>, listener: (params: P) => void): Disposable {
    return listenValidated(this.notificationEmitters, type, listener);
  }

  /** The live connection; starts the runtime when none runs. Rejects once given up or disposed. */
  async connection(): Promise<RuntimeConnection> {
    for (;;) {
      if (this.stateValue === 'disposed') throw new RuntimeError('unavailable', 'The Letterpress runtime has been shut down.');
      if (this.stateValue === 'failed') throw new RuntimeError('unavailable', this.failure ?? 'The Letterpress runtime is not available.');
      const ready = (this.ready ??= this.start());
      try {
        return await ready;
      } catch (error) {
        // The process died while starting; a restart may already be scheduled: wait for that one.
        if (this.ready !== ready) continue;
        throw error;
      }
    }
  }

  /** Applies a new idle-unload time now (when running) and on every later start. */
  async setIdleUnloadMs(idleUnloadMs: number): Promise<void> {
    this.idleUnloadMs = idleUnloadMs;
    if (this.stateValue === 'running' && this.current) {
      await this.current.connection.sendRequest(configureRequest, { idleUnloadMs }).catch(() => {});
    }
  }

  /** Stops the runtime (if running) and clears a previous give-up; the next request starts it. */
  async restart(): Promise<void> {
    if (this.stateValue === 'disposed') return;
    this.clearRestartTimer();
    this.failure = undefined;
    this.consecutiveCrashes = 0;
    this.ready = undefined;
    await this.stopCurrent();
    this.setState('stopped');
  }

  /** Kills the runtime's process tree. Safe to call more than once. */
  dispose(): void {
    if (this.stateValue === 'disposed') return;
    this.clearRestartTimer();
    this.ready = undefined;
    void this.stopCurrent();
    this.setState('disposed');
    this.stateEmitter.dispose();
    this.exitEmitter.dispose();
    for (const emitter of this.notificationEmitters.values()) emitter.dispose();
  }

  /** Resolves when the current process (if any) has exited. For tests and orderly shutdown. */
  async whenExited(): Promise<void> {
    await this.current?.exited;
  }

  private async start(): Promise<RuntimeConnection> {
    this.setState('starting');
    const process_ = this.spawnProcess();
    try {
      await process_.connection.sendRequest(configureRequest, { idleUnloadMs: this.idleUnloadMs });
    } catch (error) {
      if (this.current === process_ && !process_.connection.isClosed) {
        // Alive but not answering: treat as a crash so the restart policy applies.
        this.log.error(`Letterpress runtime did not start: ${(error as Error).message}`);
        killTree(process_.child);
      }
      throw error;
    }
    if (this.current === process_ && !process_.connection.isClosed) this.setState('running');
    return process_.connection;
  }

  private spawnProcess(): RunningProcess {
    const { modulePath, execArgv = [], env = {} } = this.options;
    const child = fork(modulePath, [], {
      execPath: this.options.execPath ?? process.execPath,
      execArgv,
      env: { ...process.env, ...env, ELECTRON_RUN_AS_NODE: '1', [parentPidEnv]: String(process.pid) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
      // Its own process group, so dispose can kill it together with anything it started.
      detached: process.platform !== 'win32',
    });
    const connection = new RuntimeConnection(child);
    let markExited!: () => void;
    const running: RunningProcess = {
      child,
      connection,
      stderrLines: [],
      expectedExit: false,
      exited: new Promise<void>((resolve) => (markExited = resolve)),
    };
    this.current = running;
    this.log.info(`Letterpress runtime started (pid ${child.pid ?? '?'}): ${modulePath}`);

    const tailLength = this.options.stderrTailLines ?? 20;
    readLines(child.stderr, (line) => {
      running.stderrLines.push(line);
      if (running.stderrLines.length > tailLength) running.stderrLines.shift();
      this.log.warn(`[runtime] ${line}`);
    });
    readLines(child.stdout, (line) => this.log.info(`[runtime] ${line}`));
    connection.onAnyNotification(({ method, params }) => this.notificationEmitters.get(method)?.fire(params));
    connection.onNotification(logNotification, ({ level, text }) => {
      if (level === 'error') this.log.error(text);
      else if (level === 'warning') this.log.warn(text);
      else this.log.info(text);
    });

    let handled = false;
    const onGone = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (handled) return;
      handled = true;
      markExited();
      this.handleExit(running, code, signal);
    };
    // 'close' waits for stderr to drain, so the crash message includes the last lines.
    child.on('close', (code, signal) => onGone(code, signal));
    child.on('error', (error) => {
      this.log.error(`Letterpress runtime process error: ${error.message}`);
      running.stderrLines.push(error.message);
      if (child.pid === undefined) onGone(null, null);
    });
    return running;
  }

  private handleExit(running: RunningProcess, code: number | null, signal: NodeJS.Signals | null): void {
    const stderrTail = running.stderrLines.join('\n');
    const how = signal ? `was killed (${signal})` : `exited with code ${code}`;
    const lastLine = running.stderrLines.at(-1);
    const crashIsCounted = !running.expectedExit && this.current === running && this.stateValue !== 'disposed';
    const restartsAfter = crashIsCounted && this.restartDelaysMs[this.consecutiveCrashes] !== undefined;
    running.connection.close(
      new RuntimeError(
        'processExited',
        running.expectedExit
          ? 'The Letterpress runtime was stopped.'
          : `The Letterpress runtime ${how} while working on this request${lastLine ? `: ${lastLine}` : '.'}` +
            (restartsAfter ? ' It restarts by itself; try again.' : ''),
        stderrTail || undefined,
      ),
    );
    running.connection.dispose();
    const isCurrent = this.current === running;
    if (isCurrent) this.current = undefined;

    if (running.expectedExit || !isCurrent || this.stateValue === 'disposed') {
      this.log.info(`Letterpress runtime (pid ${running.child.pid}) ${how}.`);
      this.exitEmitter.fire({ pid: running.child.pid, code, signal, stderrTail, expected: true });
      return;
    }

    this.consecutiveCrashes += 1;
    this.log.error(`Letterpress runtime (pid ${running.child.pid}) ${how}.${stderrTail ? `\n${stderrTail}` : ''}`);
    const delay = this.restartDelaysMs[this.consecutiveCrashes - 1];
    if (delay === undefined) {
      this.failure =
        `The Letterpress runtime crashed ${this.consecutiveCrashes} times in a row and will not be restarted ` +
        `(last time it ${how}${lastLine ? `: ${lastLine}` : ''}). See the "Letterpress" output for details, ` +
        `then run "Letterpress: Restart Runtime".`;
      this.ready = undefined;
      this.setState('failed');
      this.exitEmitter.fire({ pid: running.child.pid, code, signal, stderrTail, expected: false });
      return;
    }
    this.log.info(`Restarting the Letterpress runtime in ${delay} ms (crash ${this.consecutiveCrashes} of ${this.restartDelaysMs.length} allowed in a row).`);
    this.setState('restarting');
    this.ready = new Promise<void>((resolve) => {
      this.restartTimer = setTimeout(resolve, delay);
    }).then(() => {
      this.restartTimer = undefined;
      if (this.stateValue === 'disposed') throw new RuntimeError('unavailable', 'The Letterpress runtime has been shut down.');
      return this.start();
    });
    // Nobody may be waiting for it; keep an unobserved failure from becoming an unhandled rejection.
    this.ready.catch(() => {});
    this.exitEmitter.fire({ pid: running.child.pid, code, signal, stderrTail, expected: false, restartInMs: delay });
  }

  private async stopCurrent(): Promise<void> {
    const running = this.current;
    if (!running) return;
    running.expectedExit = true;
    killTree(running.child);
    await running.exited;
  }

  private clearRestartTimer(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
  }

  private setState(state: RuntimeState): void {
    if (this.stateValue === state || this.stateValue === 'disposed') return;
    this.stateValue = state;
    this.stateEmitter.fire(state);
  }
}

function readLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (!stream) return;
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split(/\r?\n/);
    buffered = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) onLine(line);
  });
  stream.on('end', () => {
    if (buffered.trim()) onLine(buffered);
    buffered = '';
  });
}

/** Kills the process and everything it started; a no-op for a process that is already gone. */
export function killTree(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  if (process.platform === 'win32') {
    spawn('taskkill', ['/pid', String(pid), '/T', '/F'], { stdio: 'ignore', windowsHide: true }).on('error', () => child.kill());
    return;
  }
  try {
    // Negative pid: the whole process group the child leads (it was spawned detached).
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
}
