// The runtime must never outlive the editor: if the extension host dies without a chance to kill
// it (crash, SIGKILL), the IPC channel closes and the parent's pid disappears; either one ends us.
import { parentPidEnv } from '../protocol/runtimeProtocol.ts';

export function parentPidFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const pid = Number(env[parentPidEnv]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else (a reused pid is not our parent, but is alive).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Calls `onGone` once when the parent disappears. Returns a function that stops watching. */
export function watchParent(onGone: (reason: string) => void, options: { pid?: number; intervalMs?: number } = {}): () => void {
  const pid = options.pid ?? parentPidFromEnv() ?? process.ppid;
  const startPpid = process.ppid;
  let done = false;
  const fire = (reason: string): void => {
    if (done) return;
    done = true;
    stop();
    onGone(reason);
  };
  const timer = setInterval(() => {
    // Orphans get re-parented (to init or a subreaper), so a changed ppid also means the parent died.
    if (!isProcessAlive(pid)) fire(`parent process ${pid} is gone`);
    else if (process.ppid !== startPpid) fire(`parent process ${startPpid} exited (re-parented to ${process.ppid})`);
  }, options.intervalMs ?? 1000);
  timer.unref();
  const onDisconnect = (): void => fire('IPC channel to the parent closed');
  process.on('disconnect', onDisconnect);
  function stop(): void {
    clearInterval(timer);
    process.off('disconnect', onDisconnect);
  }
  return stop;
}
