import type { ProgressListener } from '../generationTypes.ts';

/**
 * Turns byte counts into `download` progress events, at most one per `intervalMs` (the progress
 * bar and the runtime protocol need no more), plus one at the end of every file. Speed is measured
 * over the last few seconds of bytes actually received, so a resumed prefix does not inflate it.
 */
export class DownloadProgress {
  private bytesBefore = 0;
  private file = '';
  private fileBytes = 0;
  private fileTotal = 0;
  private received = 0;
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

  startFile(file: string, fileTotal: number, alreadyOnDisk: number): void {
    this.file = file;
    this.fileTotal = fileTotal;
    this.fileBytes = alreadyOnDisk;
    this.emit(true);
  }

  /** The partial file was kept, discarded (Range ignored, 416) or resumed after a dropped connection. */
  setFileBytes(bytes: number): void {
    this.fileBytes = bytes;
  }

  addReceived(bytes: number): void {
    this.fileBytes += bytes;
    this.received += bytes;
    this.emit(false);
  }

  finishFile(): void {
    this.fileBytes = this.fileTotal;
    this.emit(true);
    this.bytesBefore += this.fileTotal;
  }

  private rate(at: number): number {
    this.samples.push({ at, received: this.received });
    while (this.samples.length > 2 && at - this.samples[1].at > this.windowMs) this.samples.shift();
    const first = this.samples[0];
    const seconds = (at - first.at) / 1000;
    return seconds > 0.05 ? (this.received - first.received) / seconds : 0;
  }

  private emit(force: boolean): void {
    const at = this.now();
    if (!force && at - this.lastEmit < this.intervalMs) return;
    const state = `${this.bytesBefore}:${this.file}:${this.fileBytes}`;
    if (state === this.lastState) return;
    this.lastState = state;
    this.lastEmit = at;
    const bytesPerSecond = this.rate(at);
    const bytes = Math.min(this.total, this.bytesBefore + this.fileBytes);
    this.listener?.({
      status: 'download',
      file: this.file,
      fileBytes: this.fileBytes,
      fileTotal: this.fileTotal,
      bytes,
      total: this.total,
      bytesPerSecond,
      etaSeconds: bytesPerSecond > 0 ? (this.total - bytes) / bytesPerSecond : null,
    });
  }
}
