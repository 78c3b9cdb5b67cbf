// The panel's view of generation jobs: turns the runtime's progress events into the JobView the
// webview draws, and remembers finished jobs for a while so a reopened panel still shows them.
// Free of `vscode`; the backend that really runs jobs is passed in.
import type { ProgressEvent } from '../../runtime/protocol/generationTypes.ts';
import type { DrawTextJobInfo, DrawTextJobView, GenerationRequest, JobView } from '../../webview/protocol.ts';

/** Workspace-relative paths (forward slashes) of what a job wrote. */
export interface GalleryJobOutputs {
  /** The images the job kept. */
  outputs: string[];
  /** The candidates that lost to them, best first (best of N with candidates kept). */
  candidates?: string[];
}

export interface GalleryJobHandle {
  readonly id: string;
  readonly result: Promise<GalleryJobOutputs>;
  onProgress(listener: (event: ProgressEvent) => void): { dispose(): void };
  cancel(): void;
}

/** "Fix text" on a gallery image: the webview's view of it plus the file the index resolved. */
export interface DrawTextJobRequest extends DrawTextJobInfo {
  /** Absolute path of the image, from the gallery's index (never from the page). */
  path: string;
}

export interface GalleryJobBackend {
  generate(request: GenerationRequest): GalleryJobHandle;
  /** Absent where drawing runs only as the command's notification. */
  drawText?(request: DrawTextJobRequest): GalleryJobHandle;
}

/** How many finished jobs stay listed under the form. */
const keptFinishedJobs = 5;

export class GalleryJobs {
  private readonly jobs = new Map<string, JobView>();
  private readonly handles = new Map<string, GalleryJobHandle>();
  private readonly startedAt = new Map<string, number>();
  private readonly listeners = new Set<(job: JobView) => void>();

  constructor(
    private readonly backend: GalleryJobBackend,
    private readonly now: () => number = Date.now,
  ) {}

  onDidUpdate(listener: (job: JobView) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Oldest first, so the webview, which puts each new one on top, ends newest first. */
  list(): JobView[] {
    return [...this.jobs.values()];
  }

  submit(request: GenerationRequest): JobView {
    return this.start(() => this.backend.generate(request), (jobId) => this.blank(jobId, request));
  }

  get canDrawText(): boolean {
    return this.backend.drawText !== undefined;
  }

  /** Draws the exact text on an image as a job of the list: queued behind generation, cancellable. */
  drawText(request: DrawTextJobRequest): JobView {
    const drawText: DrawTextJobInfo = { source: request.source, target: request.target };
    const blank = (jobId: string): DrawTextJobView => ({ jobId, kind: 'drawText', drawText, state: 'queued', step: 0, totalSteps: 0, image: 0, elapsedMs: 0, outputs: [] });
    return this.start(() => {
      if (!this.backend.drawText) throw new Error('Drawing the exact text is not available in this window.');
      return this.backend.drawText(request);
    }, blank);
  }

  private start(run: () => GalleryJobHandle, blank: (jobId: string) => JobView): JobView {
    let handle: GalleryJobHandle;
    try {
      handle = run();
    } catch (error) {
      const failed = blank(`failed-${this.now()}-${this.jobs.size}`);
      return this.update({ ...failed, state: 'failed', error: errorText(error) });
    }
    this.handles.set(handle.id, handle);
    const job = this.update(blank(handle.id));
    const subscription = handle.onProgress((event) => this.progress(handle.id, event));
    handle.result.then(
      ({ outputs, candidates }) =>
        this.finish(handle.id, { state: 'done', outputs, ...(candidates && candidates.length > 0 ? { candidates } : {}) }),
      (error: unknown) => this.finish(handle.id, isCancellation(error) ? { state: 'cancelled' } : { state: 'failed', error: errorText(error) }),
    ).finally(() => subscription.dispose());
    return job;
  }

  cancel(jobId: string): boolean {
    const handle = this.handles.get(jobId);
    if (!handle) return false;
    handle.cancel();
    return true;
  }

  private blank(jobId: string, request: GenerationRequest): JobView {
    return { jobId, request, state: 'queued', step: 0, totalSteps: request.steps, image: 0, elapsedMs: 0, outputs: [] };
  }

  private progress(jobId: string, event: ProgressEvent): void {
    const job = this.jobs.get(jobId);
    if (!job || isFinished(job)) return;
    switch (event.status) {
      case 'step': {
        // Measured here, from the job's first step, so queueing and model loading don't count.
        if (!this.startedAt.has(jobId)) this.startedAt.set(jobId, this.now() - event.elapsedMs);
        const preview = event.preview && event.preview.length > 0 ? pngDataUri(event.preview) : undefined;
        this.update({
          ...job,
          state: 'running',
          detail: undefined,
          step: event.step,
          totalSteps: event.total,
          image: event.image,
          images: event.images !== undefined && event.images > 1 ? event.images : undefined,
          elapsedMs: this.now() - this.startedAt.get(jobId)!,
          // A step without a preview keeps the last one on screen.
          previewUri: preview ?? job.previewUri,
        });
        break;
      }
      case 'decode':
        this.update({ ...job, state: 'running', detail: `Decoding image ${event.image + 1}` });
        break;
      case 'download': {
        const percent = event.total > 0 ? Math.floor((event.bytes / event.total) * 100) : 0;
        this.update({ ...job, state: 'loading', detail: `Downloading the model: ${percent}% (${event.file})` });
        break;
      }
      case 'convert':
        this.update({ ...job, state: 'loading', detail: `Converting ${event.component} to ONNX (${event.done}/${event.total})` });
        break;
      case 'load':
        this.update({ ...job, state: 'loading', detail: `Loading ${event.component} on ${event.provider}` });
        break;
      case 'legibility': {
        if (job.kind === 'drawText') {
          // No steps: the time counts from the first thing the runtime does for it.
          if (!this.startedAt.has(jobId)) this.startedAt.set(jobId, this.now());
          this.update({ ...job, state: 'running', detail: drawTextDetail(job.drawText, event), elapsedMs: this.now() - this.startedAt.get(jobId)! });
          break;
        }
        const of = event.candidates > 1 ? ` of candidate ${event.candidate + 1}/${event.candidates}` : '';
        let detail: string;
        if (event.phase === 'read') detail = `Reading the text${of}`;
        else if (event.phase === 'draw') detail = 'Drawing the exact text';
        else detail = `Text${of}: ${event.exactMatch ? '✓ exact' : `CER ${(event.cer ?? 1).toFixed(2)}`}`;
        this.update({ ...job, state: 'running', detail });
        break;
      }
      case 'message':
        if (event.level === 'warning') this.update({ ...job, detail: event.text });
        break;
      case 'done':
        break;
    }
  }

  private finish(jobId: string, patch: Pick<JobView, 'state'> & Partial<Pick<JobView, 'outputs' | 'candidates' | 'error'>>): void {
    const job = this.jobs.get(jobId);
    this.handles.delete(jobId);
    if (!job) return;
    const elapsed = this.startedAt.has(jobId) ? this.now() - this.startedAt.get(jobId)! : job.elapsedMs;
    this.startedAt.delete(jobId);
    // The finished image replaces the preview.
    this.update({ ...job, ...patch, detail: undefined, previewUri: undefined, elapsedMs: elapsed });
    this.prune();
  }

  private update(job: JobView): JobView {
    const clean = Object.fromEntries(Object.entries(job).filter(([, v]) => v !== undefined)) as unknown as JobView;
    this.jobs.set(job.jobId, clean);
    for (const listener of this.listeners) listener(clean);
    return clean;
  }

  private prune(): void {
    const finished = [...this.jobs.values()].filter(isFinished);
    for (const job of finished.slice(0, Math.max(0, finished.length - keptFinishedJobs))) this.jobs.delete(job.jobId);
  }
}

/** The job row's line while the runtime fixes an image's text: "Reading repair 1/2…", "Drawing “OPEN”…". */
export function drawTextDetail(info: DrawTextJobInfo, event: Extract<ProgressEvent, { status: 'legibility' }>): string {
  if (event.mode === 'repair') {
    const which = event.candidates > 1 ? ` ${event.candidate + 1}/${event.candidates}` : '';
    if (event.phase === 'read') return `Reading repair${which}…`;
    if (event.phase === 'scored') return `Repair${which}: ${event.exactMatch ? '✓ exact' : `CER ${(event.cer ?? 1).toFixed(2)}`}`;
  }
  if (event.phase === 'read') return `Reading the text of ${info.source.split('/').pop()}…`;
  if (event.phase === 'draw') return `Drawing ${quotedTarget(info.target)}…`;
  return `Drawn: ${event.exactMatch ? '✓ exact' : `CER ${(event.cer ?? 1).toFixed(2)}`}`;
}

/** “OPEN” / “OPEN / 24/7” for a two-line text. */
export function quotedTarget(target: string): string {
  return `“${target.replace(/\s*\n\s*/g, ' / ')}”`;
}

function isFinished(job: JobView): boolean {
  return job.state === 'done' || job.state === 'failed' || job.state === 'cancelled';
}

function isCancellation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { name?: unknown; code?: unknown };
  return e.name === 'AbortError' || e.code === 'cancelled';
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function pngDataUri(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png.buffer, png.byteOffset, png.byteLength).toString('base64')}`;
}
