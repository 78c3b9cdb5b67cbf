// The job list of the gallery webview, keyed by job id: each update patches the row's texts,
// progress bar and pictures in place. Rows and their Cancel buttons keep their identity for the
// life of the job, so a click aimed at Cancel is never lost to a row rebuilt under the pointer
// (several progress events a second on a GPU).
import { estimateRemainingMs, formatDuration, jobImageCount, jobImageLabel, jobStepsDone, jobTitle } from './galleryController.ts';
import { codicon, el, placeInOrder, setAttr, setText } from './dom.ts';
import { jobLegibilitySummary, legibilityBadge } from './legibilityBadge.ts';
import type { GalleryImage, JobView } from './protocol.ts';

const stateLabels: Record<JobView['state'], string> = {
  queued: 'Queued',
  loading: 'Loading',
  running: 'Generating',
  done: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

export function stateLabel(job: JobView): string {
  return job.kind === 'drawText' && job.state === 'running' ? 'Drawing' : stateLabels[job.state];
}

export function jobProgressText(job: JobView, images: readonly GalleryImage[]): string {
  if (job.state === 'loading') return job.detail ?? 'Loading the model…';
  if (job.state === 'done') return jobLegibilitySummary(job, images as GalleryImage[]);
  if (job.state !== 'running') return job.error ?? '';
  // Fix text: its detail says what it is doing ("Reading repair 1/2…", "Drawing “OPEN”…"); between
  // them the model repaints the text region, step by step.
  if (job.kind === 'drawText') {
    if (job.detail || job.totalSteps <= 0) return job.detail ?? '';
    return `Repainting the text · Step ${job.step}/${job.totalSteps} · ${formatDuration(job.elapsedMs)} elapsed`;
  }
  // Between the steps: decoding, reading the text with OCR, drawing it.
  if (job.detail) return `${jobImageLabel(job)}${job.detail} · ${formatDuration(job.elapsedMs)} elapsed`;
  const imagePart = jobImageLabel(job);
  const remaining = estimateRemainingMs(job);
  const left = remaining === undefined ? '' : ` · ${formatDuration(remaining)} left`;
  return `${imagePart}Step ${job.step}/${job.totalSteps} · ${formatDuration(job.elapsedMs)} elapsed${left}`;
}

function isActive(job: JobView): boolean {
  return job.state === 'queued' || job.state === 'loading' || job.state === 'running';
}

/** One row; built once per job, then patched. */
class JobRow {
  readonly item: HTMLLIElement;
  private readonly picture = el('div', { class: 'job-picture' });
  private readonly title = el('div', { class: 'job-prompt' });
  private readonly state = el('span', { class: 'job-state' });
  private readonly progressText = el('span', { class: 'job-progress' });
  private readonly body: HTMLElement;
  private bar: HTMLProgressElement | undefined;
  private cancelButton: HTMLButtonElement | undefined;
  private pictureKey = '';
  private preview: HTMLImageElement | undefined;

  constructor(
    readonly jobId: string,
    private readonly onCancel: (jobId: string) => void,
  ) {
    this.item = el('li', { class: 'job', 'data-job-id': jobId });
    this.body = el('div', { class: 'job-body' }, this.title, el('div', { class: 'job-status' }, this.state, ' ', this.progressText));
    this.item.append(this.picture, this.body);
  }

  update(job: JobView, images: readonly GalleryImage[]): void {
    const item = this.item;
    setAttr(item, 'class', `job ${job.state}`);
    setAttr(item, 'data-state', job.state);
    setAttr(item, 'data-kind', job.kind ?? 'generate');
    const title = jobTitle(job);
    setText(this.title, title);
    setAttr(this.title, 'title', title);
    setText(this.state, stateLabel(job));
    setText(this.progressText, jobProgressText(job, images));
    this.updateBar(job);
    this.updateCancel(job, title);
    this.updatePicture(job, images);
  }

  private updateBar(job: JobView): void {
    if (job.state !== 'running') {
      this.bar?.remove();
      this.bar = undefined;
      return;
    }
    if (!this.bar) {
      this.bar = el('progress');
      this.body.insertBefore(this.bar, this.cancelButton ?? null);
    }
    if (job.kind === 'drawText' && (job.detail || job.totalSteps <= 0)) {
      // Reading or drawing: no steps to count, an indeterminate bar.
      this.bar.removeAttribute('value');
      setAttr(this.bar, 'aria-label', 'Drawing the text');
    } else {
      const max = Math.max(1, job.totalSteps * jobImageCount(job));
      if (this.bar.max !== max) this.bar.max = max;
      const value = Math.min(max, jobStepsDone(job));
      if (!this.bar.hasAttribute('value') || this.bar.value !== value) this.bar.value = value;
      setAttr(this.bar, 'aria-label', 'Steps done');
    }
  }

  private updateCancel(job: JobView, title: string): void {
    if (!isActive(job)) {
      this.cancelButton?.remove();
      this.cancelButton = undefined;
      return;
    }
    if (!this.cancelButton) {
      this.cancelButton = el('button', { class: 'secondary job-cancel', type: 'button', 'data-action': 'cancel' }, codicon('close'), 'Cancel');
      this.cancelButton.addEventListener('click', () => this.onCancel(this.jobId));
      this.body.append(this.cancelButton);
    }
    setAttr(this.cancelButton, 'aria-label', `Cancel job: ${title}`);
  }

  private updatePicture(job: JobView, images: readonly GalleryImage[]): void {
    const byId = (id: string) => images.find((image) => image.id === id);
    const finished = job.outputs.map(byId).filter((image): image is GalleryImage => image !== undefined);
    if (finished.length === 0 && job.previewUri) {
      // The preview changes every step: one <img> whose source is swapped.
      if (this.pictureKey !== 'preview' || !this.preview) {
        this.preview = el('img', { class: 'preview', alt: 'Preview of the image being generated' });
        this.picture.replaceChildren(this.preview);
        this.pictureKey = 'preview';
      }
      if (this.preview.getAttribute('src') !== job.previewUri) this.preview.src = job.previewUri;
      return;
    }
    const losers = finished.length === 0 ? [] : (job.candidates ?? []).map(byId).filter((image): image is GalleryImage => image !== undefined);
    const key = JSON.stringify([finished.map((i) => i.thumbnailUri), losers.map((i) => [i.thumbnailUri, i.legibility?.cer])]);
    if (key === this.pictureKey) return;
    this.pictureKey = key;
    this.preview = undefined;
    this.picture.replaceChildren(
      ...finished.map((image) => el('img', { src: image.thumbnailUri, alt: '' })),
      ...losers.map((image) => {
        const badge = image.legibility ? ` (${legibilityBadge(image.legibility).text})` : '';
        return el('img', { class: 'candidate', src: image.thumbnailUri, alt: '', title: `Candidate that lost${badge}: ${image.id}` });
      }),
    );
  }
}

/** The list itself: rows by job id, newest first, in one <ul>. */
export class JobRows {
  readonly list = el('ul', { id: 'jobs', class: 'jobs', 'aria-label': 'Jobs', 'aria-live': 'polite' });
  private readonly rows = new Map<string, JobRow>();

  constructor(private readonly onCancel: (jobId: string) => void) {
    this.list.hidden = true;
  }

  render(jobs: readonly JobView[], images: readonly GalleryImage[]): void {
    const seen = new Set<string>();
    const ordered: HTMLElement[] = [];
    for (const job of jobs) {
      let row = this.rows.get(job.jobId);
      if (!row) {
        row = new JobRow(job.jobId, this.onCancel);
        this.rows.set(job.jobId, row);
      }
      row.update(job, images);
      seen.add(job.jobId);
      ordered.push(row.item);
    }
    for (const id of [...this.rows.keys()]) if (!seen.has(id)) this.rows.delete(id);
    placeInOrder(this.list, ordered);
    this.list.hidden = jobs.length === 0;
  }
}
