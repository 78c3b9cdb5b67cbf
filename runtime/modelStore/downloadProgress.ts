import type { ProgressListener } from '../protocol/generationTypes.ts';

/** The bytes of one file being fetched, reported into the download's single event stream. */
export class FileDownloadProgress {
  constructor(
    private readonly owner: DownloadProgress,
    readonly file: string,
    readonly fileTotal: number,
    public fileBytes: number,
    readonly order: number,
  ) {}

  /** The partial file was kept, discarded (Range ignored, 416) or resumed after a dropped connection. */
  setFileBytes(bytes: number): void {
    this.fileBytes = bytes;
  }

  addReceived(bytes: number): void {
    this.fileBytes += bytes;
    this.owner.received(bytes);
  }

  finish(): void {
    this.owner.finished(this);
  }

  /** The file failed or was cancelled: its bytes no longer count (the total never goes back, see emit). */
  stop(): void {
    this.owner.stopped(this);
  }
}

/**
 * Turns byte counts of the files in flight into one stream of `download` progress events, at most
 * one per `intervalMs` (the progress bar and the runtime protocol need no more), plus one at the
 * start and end of every file. With several files at once, `file` names the largest one in flight,
 * except in the event that ends a file, which names that file. `bytes` never goes back, even when a
 * file starts over. Speed is measured over the last few seconds of bytes actually received, so a
 * resumed prefix does not inflate it.
 */
export class DownloadProgress {
  private doneBytes = 0;
  private readonly active = new Set<FileDownloadProgress>();
  private started = 0;
  private receivedBytes = 0;
  private lastBytes = 0;
  private lastEmit = -Infinity;
  private lastState = '';
  private readonly samples: { at: number; received: number }[] = [];

  constructor(
    readonly total: number,
    private readonly listener: ProgressListener | undefined,
    private readonly intervalMs = 100,
    private readonly windowMs = 5_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  startFile(file: string, fileTotal: number, alreadyOnDisk: number): FileDownloadProgress {
    const tracker = new FileDownloadProgress(this, file, fileTotal, alreadyOnDisk, this.started++);
    this.active.add(tracker);
    this.emit(true, tracker);
    return tracker;
  }

  /** A file another process finished while we waited for its lock: its bytes are here without a transfer. */
  fileAlreadyDone(file: string, size: number): void {
    this.doneBytes += size;
    this.emit(true, { file, fileBytes: size, fileTotal: size });
  }

  /** @internal */
  received(bytes: number): void {
    this.receivedBytes += bytes;
    this.emit(false);
  }

  /** @internal */
  finished(tracker: FileDownloadProgress): void {
    if (!this.active.delete(tracker)) return;
    this.doneBytes += tracker.fileTotal;
    this.emit(true, { file: tracker.file, fileBytes: tracker.fileTotal, fileTotal: tracker.fileTotal });
  }

  /** @internal */
  stopped(tracker: FileDownloadProgress): void {
    this.active.delete(tracker);
  }

  /** The file an event names when no file is its subject: the largest in flight (the one the wait is for). */
  private largestActive(): FileDownloadProgress | undefined {
    let largest: FileDownloadProgress | undefined;
    for (const tracker of this.active) {
      if (!largest || tracker.fileTotal > largest.fileTotal) largest = tracker;
    }
    return largest;
  }

  private rate(at: number): number {
    this.samples.push({ at, received: this.receivedBytes });
    while (this.samples.length > 2 && at - this.samples[1].at > this.windowMs) this.samples.shift();
    const first = this.samples[0];
    const seconds = (at - first.at) / 1000;
    return seconds > 0.05 ? (this.receivedBytes - first.received) / seconds : 0;
  }

  private emit(force: boolean, subject?: { file: string; fileBytes: number; fileTotal: number }): void {
    const at = this.now();
    if (!force && at - this.lastEmit < this.intervalMs) return;
    const named = subject ?? this.largestActive();
    if (!named) return;
    let inFlight = 0;
    for (const tracker of this.active) inFlight += Math.min(tracker.fileBytes, tracker.fileTotal);
    const bytes = Math.min(this.total, Math.max(this.lastBytes, this.doneBytes + inFlight));
    const state = `${bytes}:${named.file}:${named.fileBytes}`;
    if (state === this.lastState) return;
    this.lastState = state;
    this.lastEmit = at;
    this.lastBytes = bytes;
    const bytesPerSecond = this.rate(at);
    this.listener?.({
      status: 'download',
      file: named.file,
      fileBytes: named.fileBytes,
      fileTotal: named.fileTotal,
      bytes,
      total: this.total,
      bytesPerSecond,
      etaSeconds: bytesPerSecond > 0 ? (this.total - bytes) / bytesPerSecond : null,
      filesInFlight: this.active.size,
    });
  }
}
