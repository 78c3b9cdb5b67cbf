// The gallery panel's state and behaviour, free of the DOM and of VS Code so it can be tested with
// a fake host: the view (webview/main.ts) renders `state` and calls the actions; the host's
// messages come in through `receive`.
import {
  CancelJob,
  CountTokens,
  FillForm,
  ImagesChanged,
  InitState,
  JobUpdated,
  PanelReady,
  RunImageAction,
  RunWebviewImageCommand,
  StartImageChosen,
  SubmitJob,
  TokensCounted,
  ChooseStartImage,
  generationLimits,
  hostToWebview,
  isGenerationRequest,
  parseMessage,
  promptTokenLimit,
} from './protocol.ts';
import type {
  ChooseStartImageParams,
  StartImageView,
  FormStartImage,
  GalleryConfig,
  GalleryImage,
  GenerationRequest,
  ImageAction,
  JobView,
  WebviewToHostMessage,
} from './protocol.ts';
import { defaultStrength, defaultVariationStrength, type SchedulerName } from '../runtime/protocol/generationTypes.ts';
import { limits, randomSeed, withinLimit } from '../runtime/protocol/limits.ts';
import { resolveTargetText } from '../runtime/protocol/targetText.ts';
import type { PixelBox } from '../runtime/protocol/paramsValidation.ts';

export interface HostMessenger {
  postMessage(message: WebviewToHostMessage): void;
}

export interface FormState {
  prompt: string;
  negativePrompt: string;
  /** The id of one of the host's size presets, or 'custom' for the width/height fields. */
  preset: string;
  width: number;
  height: number;
  steps: number;
  guidanceScale: number;
  /** '' means the model's default scheduler. */
  scheduler: SchedulerName | '';
  seed: number;
  /** Locked: every job uses `seed`. Unlocked: each job draws a new one (and shows it here). */
  seedLocked: boolean;
  numImages: number;
  /** "Text in the image": '' means the text the prompt quotes. */
  text: string;
  /** 0 = auto (4 on a GPU, 1 on the CPU). */
  candidates: number;
  exactFallback: boolean;
}

/** What survives a reload of the window (VS Code keeps it with the panel's serializer state). */
export interface PersistedState {
  form: FormState;
  search: string;
  selectedId?: string;
}

export interface TokenCount {
  count: number;
  limit: number;
}

/**
 * The form's start image: the host's view of the file, the strength, and the region drawn on it as
 * fractions of the image (so it follows the output size).
 */
export interface StartImageState {
  view: StartImageView;
  strength: number;
  region?: { left: number; top: number; width: number; height: number };
}

export interface GalleryViewState {
  config?: GalleryConfig;
  /** Not persisted: the image comes back from the host as a data: URI, too large to keep in the panel's state. */
  start?: StartImageState;
  form: FormState;
  formErrors: string[];
  tokens?: TokenCount;
  /** Newest job first. */
  jobs: JobView[];
  /** All images, newest first. */
  images: GalleryImage[];
  search: string;
  /** The image the detail pane shows; undefined when none is selected (or it went away). */
  selectedId?: string;
}

export const defaultForm: FormState = {
  prompt: '',
  negativePrompt: '',
  preset: '512x512',
  width: 512,
  height: 512,
  steps: 25,
  guidanceScale: 7.5,
  scheduler: '',
  seed: 42,
  seedLocked: false,
  numImages: 1,
  text: '',
  candidates: 0,
  exactFallback: false,
};

export interface ControllerOptions {
  /** Source of fresh seeds; injected so tests are deterministic. */
  randomSeed?: () => number;
  persisted?: unknown;
}

function isPersistedState(v: unknown): v is PersistedState {
  if (typeof v !== 'object' || v === null) return false;
  const p = v as Partial<PersistedState>;
  return typeof p.search === 'string' && typeof p.form === 'object' && p.form !== null;
}

export class GalleryController {
  readonly state: GalleryViewState;
  private readonly listeners = new Set<() => void>();
  private readonly randomSeed: () => number;
  private tokenRequestId = 0;
  /** Whether the form's defaults came from a restored state (then the host's defaults don't override). */
  private readonly restored: boolean;

  constructor(
    private readonly host: HostMessenger,
    options: ControllerOptions = {},
  ) {
    this.randomSeed = options.randomSeed ?? (() => randomSeed());
    const persisted = isPersistedState(options.persisted) ? options.persisted : undefined;
    this.restored = persisted !== undefined;
    this.state = {
      form: { ...defaultForm, ...(persisted?.form ?? {}) },
      formErrors: [],
      jobs: [],
      images: [],
      search: persisted?.search ?? '',
      ...(typeof persisted?.selectedId === 'string' ? { selectedId: persisted.selectedId } : {}),
    };
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  /** Tells the host the view is listening; it answers with the whole state. */
  start(): void {
    this.host.postMessage(PanelReady.create({}));
    if (this.state.form.prompt) this.requestTokenCount();
  }

  persistable(): PersistedState {
    return { form: { ...this.state.form }, search: this.state.search, ...(this.state.selectedId ? { selectedId: this.state.selectedId } : {}) };
  }

  /** Handles one message from the host; returns false when it was dropped as unknown or malformed. */
  receive(raw: unknown): boolean {
    const message = parseMessage(hostToWebview, raw);
    if (!message) return false;
    switch (message.method) {
      case InitState.method: {
        const { config, images, jobs } = message.params;
        this.state.config = config;
        const form = this.state.form;
        form.preset = config.presets.find((p) => p.width === form.width && p.height === form.height)?.id ?? 'custom';
        if (!this.restored) {
          this.state.form.steps = config.defaults.steps;
          this.state.form.guidanceScale = config.defaults.guidanceScale;
          this.state.form.scheduler = config.defaults.scheduler ?? '';
          this.state.form.candidates = config.defaults.candidates ?? defaultForm.candidates;
          this.state.form.exactFallback = config.defaults.exactFallback ?? defaultForm.exactFallback;
          if (this.keepsOneImage) this.state.form.numImages = 1;
        }
        this.state.images = sortNewestFirst(images);
        this.state.jobs = [];
        for (const job of jobs) this.upsertJob(job);
        break;
      }
      case ImagesChanged.method:
        this.state.images = sortNewestFirst(message.params.images);
        break;
      case JobUpdated.method:
        this.upsertJob(message.params.job);
        break;
      case TokensCounted.method: {
        // Answers can overtake each other; only the one for the latest text counts.
        if (message.params.requestId !== this.tokenRequestId) return true;
        this.state.tokens = { count: message.params.count, limit: message.params.limit };
        break;
      }
      case FillForm.method:
        this.fillForm(message.params.request);
        break;
      case RunWebviewImageCommand.method: {
        const { id, command, strength } = message.params;
        if (command === 'select') this.select(id);
        else if (command === 'variations') this.variations(id, strength ?? defaultVariationStrength);
        else this.regenerate(id, command === 'vary');
        break;
      }
      case StartImageChosen.method: {
        const view = message.params;
        this.state.start = { view, strength: this.state.start?.strength ?? defaultStrength };
        // The output size follows the image (its own, fitted to the limits), as the CLI's default does.
        this.updateForm({ width: view.outputWidth, height: view.outputHeight });
        break;
      }
    }
    this.changed();
    return true;
  }

  private upsertJob(job: JobView): void {
    const index = this.state.jobs.findIndex((j) => j.jobId === job.jobId);
    if (index >= 0) this.state.jobs[index] = job;
    else this.state.jobs.unshift(job);
  }

  // ---- form ---------------------------------------------------------------------------------

  updateForm(patch: Partial<FormState>): void {
    const form = this.state.form;
    Object.assign(form, patch);
    const presets = this.state.config?.presets ?? [];
    if (patch.preset !== undefined && patch.preset !== 'custom') {
      const preset = presets.find((p) => p.id === patch.preset);
      if (preset) {
        form.width = preset.width;
        form.height = preset.height;
      }
    } else if (patch.width !== undefined || patch.height !== undefined) {
      form.preset = presets.find((p) => p.width === form.width && p.height === form.height)?.id ?? 'custom';
    }
    // Best of N and the drawn text keep one image; the view disables the Images field meanwhile.
    if ((patch.candidates !== undefined || patch.exactFallback !== undefined || patch.text !== undefined) && this.keepsOneImage) form.numImages = 1;
    if (patch.prompt !== undefined) this.requestTokenCount();
    this.state.formErrors = [];
    this.changed();
  }

  private requestTokenCount(): void {
    this.tokenRequestId += 1;
    if (this.state.form.prompt.trim() === '') {
      this.state.tokens = { count: 0, limit: this.state.tokens?.limit ?? promptTokenLimit };
      return;
    }
    this.host.postMessage(CountTokens.create({ requestId: this.tokenRequestId, text: this.state.form.prompt }));
  }

  /** Whether the job's text gets checked: the setting, or a text typed in (a request to check it). */
  get checksText(): boolean {
    return this.state.config?.defaults.checkText !== false || this.state.form.text.trim() !== '';
  }

  /** True when the job keeps a single image: several candidates, or the exact text drawn. */
  get keepsOneImage(): boolean {
    const f = this.state.form;
    return this.checksText && (f.candidates > 1 || f.exactFallback);
  }

  /** The text the job will check: the field when filled, else what the prompt quotes; null for none. */
  get targetText(): string | null {
    return resolveTargetText({ prompt: this.state.form.prompt, text: this.state.form.text });
  }

  /** What the text field stands for while empty: the prompt's quoted text, one line per quote. */
  get quotedText(): string | null {
    return resolveTargetText({ prompt: this.state.form.prompt });
  }

  /** True past the model's 75 content tokens: the tail of the prompt would be cut off. */
  get tokensOverLimit(): boolean {
    const t = this.state.tokens;
    return t !== undefined && t.count > t.limit;
  }

  validateForm(): string[] {
    const f = this.state.form;
    const errors: string[] = [];
    const l = generationLimits;
    if (f.prompt.trim() === '') errors.push('Enter a prompt: describe the image and put the text to render in quotes.');
    if (f.prompt.length > l.promptChars) errors.push(`The prompt is longer than ${l.promptChars} characters.`);
    for (const [name, side] of [['Width', f.width], ['Height', f.height]] as const) {
      if (!Number.isInteger(side) || side % 8 !== 0 || side < l.minSide || side > l.maxSide) {
        errors.push(`${name} must be a multiple of 8 between ${l.minSide} and ${l.maxSide}.`);
      }
    }
    if (!Number.isInteger(f.steps) || f.steps < 1 || f.steps > l.maxSteps) errors.push(`Steps must be a whole number from 1 to ${l.maxSteps}.`);
    if (!Number.isFinite(f.guidanceScale) || f.guidanceScale < 0 || f.guidanceScale > l.maxGuidance) {
      errors.push(`Guidance must be between 0 and ${l.maxGuidance}.`);
    }
    if (f.seedLocked && (!Number.isInteger(f.seed) || f.seed < 0 || f.seed > l.maxSeed)) {
      errors.push(`The seed must be a whole number from 0 to ${l.maxSeed}.`);
    }
    if (!Number.isInteger(f.numImages) || f.numImages < 1 || f.numImages > l.maxImages) {
      errors.push(`Number of images must be from 1 to ${l.maxImages}.`);
    }
    if (f.text.length > l.textChars) errors.push(`The text in the image is longer than ${l.textChars} characters.`);
    if (!Number.isInteger(f.candidates) || f.candidates < 0 || f.candidates > l.maxCandidates) {
      errors.push(`Candidates must be Auto or a whole number from 1 to ${l.maxCandidates}.`);
    }
    const start = this.state.start;
    if (start) {
      if (!withinLimit(limits.strength, start.strength) || start.strength === 0) errors.push('Strength must be a number above 0 and at most 1.');
      else if (Number.isInteger(f.steps) && Math.floor(f.steps * start.strength) < 1) {
        errors.push(`Strength ${start.strength} with ${f.steps} steps leaves no step to run: raise the strength or the steps.`);
      }
    }
    if (this.keepsOneImage) {
      if (f.numImages > 1) errors.push('Best of several candidates and the drawn text keep one image: set Images to 1.');
      if (this.targetText === null) {
        errors.push('There is no text to check: put it in quotes in the prompt (a sign that says "OPEN") or fill in "Text in the image".');
      }
    }
    return errors;
  }

  /** Queues a job from the form; returns it, or undefined when the form has errors (shown in state). */
  submit(): GenerationRequest | undefined {
    const errors = this.validateForm();
    if (this.state.config && !this.state.config.canGenerate) {
      errors.push(this.state.config.reason ?? 'Generating is not available in this window.');
    }
    this.state.formErrors = errors;
    if (errors.length > 0) {
      this.changed();
      return undefined;
    }
    const f = this.state.form;
    if (!f.seedLocked) f.seed = this.randomSeed();
    const request: GenerationRequest = {
      prompt: f.prompt,
      negativePrompt: f.negativePrompt,
      width: f.width,
      height: f.height,
      steps: f.steps,
      guidanceScale: f.guidanceScale,
      ...(f.scheduler ? { scheduler: f.scheduler } : {}),
      seed: f.seed,
      numImages: f.numImages,
      ...(f.text.trim() ? { text: f.text } : {}),
      // Several images can only be checked, one candidate each (Auto could mean 4 on a GPU), and
      // only reach here with the check switched off or best of N not asked for.
      candidates: f.numImages > 1 ? 1 : f.candidates,
      exactFallback: f.numImages > 1 ? false : f.exactFallback,
      ...(this.state.start ? { startImage: this.startImageRequest(f.width, f.height) } : {}),
    };
    this.host.postMessage(SubmitJob.create({ request }));
    this.changed();
    return request;
  }

  private startImageRequest(width: number, height: number): FormStartImage {
    const start = this.state.start!;
    const maskBox = this.maskBoxFor(width, height);
    return { id: start.view.id, strength: start.strength, ...(maskBox ? { maskBox } : {}) };
  }

  cancel(jobId: string): void {
    this.host.postMessage(CancelJob.create({ jobId }));
  }

  // ---- start image --------------------------------------------------------------------------

  /** Asks the host for a start image: its picker, a gallery card or workspace path, or a dropped file. */
  chooseStartImage(choice: ChooseStartImageParams): void {
    this.host.postMessage(ChooseStartImage.create(choice));
  }

  clearStartImage(): void {
    delete this.state.start;
    this.state.formErrors = [];
    this.changed();
  }

  setStrength(strength: number): void {
    if (!this.state.start) return;
    this.state.start.strength = strength;
    this.state.formErrors = [];
    this.changed();
  }

  /** The rectangle to repaint, as fractions of the image (undefined: the whole image). Tiny drags count as clicks: no region. */
  setRegion(region: StartImageState['region']): void {
    if (!this.state.start) return;
    const clamp = (v: number) => Math.min(1, Math.max(0, v));
    if (!region || region.width * this.state.form.width < 8 || region.height * this.state.form.height < 8) delete this.state.start.region;
    else {
      const left = clamp(region.left);
      const top = clamp(region.top);
      this.state.start.region = { left, top, width: clamp(left + region.width) - left, height: clamp(top + region.height) - top };
    }
    this.changed();
  }

  /** The drawn region in pixels of the output size, on whole 8-pixel cells (what the pipeline repaints). */
  maskBoxFor(width: number, height: number): PixelBox | undefined {
    const region = this.state.start?.region;
    if (!region) return undefined;
    const cell = 8;
    const left = Math.min(width - cell, Math.floor((region.left * width) / cell) * cell);
    const top = Math.min(height - cell, Math.floor((region.top * height) / cell) * cell);
    const right = Math.max(left + cell, Math.min(width, Math.ceil(((region.left + region.width) * width) / cell) * cell));
    const bottom = Math.max(top + cell, Math.min(height, Math.ceil(((region.top + region.height) * height) / cell) * cell));
    return { left, top, width: right - left, height: bottom - top };
  }

  /**
   * Variations…: new images from a gallery image by image-to-image at `strength`, its own settings
   * and size, a new seed, as many as the form's Images field says.
   */
  variations(id: string, strength: number): GenerationRequest | undefined {
    const image = this.state.images.find((i) => i.id === id);
    const base = image && this.requestFromImage(image, true);
    if (!base) return undefined;
    const numImages = Number.isInteger(this.state.form.numImages) ? Math.min(Math.max(this.state.form.numImages, 1), generationLimits.maxImages) : 1;
    const request: GenerationRequest = {
      ...base,
      numImages,
      ...(numImages > 1 ? { candidates: 1, exactFallback: false } : {}),
      startImage: { id, strength },
    };
    if (!isGenerationRequest(request)) return undefined;
    this.host.postMessage(SubmitJob.create({ request }));
    return request;
  }

  fillForm(request: GenerationRequest): void {
    this.updateForm({
      prompt: request.prompt,
      negativePrompt: request.negativePrompt,
      width: request.width,
      height: request.height,
      steps: request.steps,
      guidanceScale: request.guidanceScale,
      scheduler: request.scheduler ?? '',
      seed: request.seed,
      seedLocked: true,
      numImages: request.numImages,
      text: request.text ?? '',
      ...(request.candidates !== undefined ? { candidates: request.candidates } : {}),
      ...(request.exactFallback !== undefined ? { exactFallback: request.exactFallback } : {}),
    });
  }

  // ---- gallery ------------------------------------------------------------------------------

  setSearch(search: string): void {
    this.state.search = search;
    this.changed();
  }

  /** Images whose prompt (or file name) holds every word of the search, newest first. */
  get visibleImages(): GalleryImage[] {
    const words = this.state.search.toLowerCase().split(/\s+/).filter(Boolean);
    if (words.length === 0) return this.state.images;
    return this.state.images.filter((image) => {
      const haystack = `${image.settings?.prompt ?? ''}\n${image.name}`.toLowerCase();
      return words.every((word) => haystack.includes(word));
    });
  }

  /** Shows an image in the detail pane (undefined closes it); an id the gallery lacks selects nothing. */
  select(id: string | undefined): void {
    const next = id !== undefined && this.state.images.some((image) => image.id === id) ? id : undefined;
    if (next === this.state.selectedId) return;
    if (next === undefined) delete this.state.selectedId;
    else this.state.selectedId = next;
    this.changed();
  }

  /** The selected image while it is still in the gallery. */
  get selectedImage(): GalleryImage | undefined {
    const id = this.state.selectedId;
    return id === undefined ? undefined : this.state.images.find((image) => image.id === id);
  }

  /**
   * The candidates that lost to `image` in its job, best first: files the runtime placed in
   * `candidates/` beside it as `<stem>-seed-<seed>.png`, with the same prompt.
   */
  candidatesOf(image: GalleryImage): GalleryImage[] {
    if (image.legibility?.chosen === false) return [];
    const slash = image.id.lastIndexOf('/');
    const folder = slash < 0 ? '' : image.id.slice(0, slash + 1);
    const stem = image.name.replace(/\.png$/i, '');
    const prefix = `${folder}candidates/${stem}-seed-`;
    return this.state.images
      .filter((other) => other.legibility?.chosen === false && other.id.startsWith(prefix) && /^\d+(-\d+)?\.png$/i.test(other.id.slice(prefix.length)))
      .filter((other) => other.settings?.prompt === image.settings?.prompt)
      .sort((a, b) => (a.legibility?.cer ?? 0) - (b.legibility?.cer ?? 0) || a.id.localeCompare(b.id));
  }

  imageAction(id: string, action: ImageAction): void {
    this.host.postMessage(RunImageAction.create({ id, action }));
  }

  /**
   * The job that remakes an image: its own settings, the form's values where the file has none.
   * The same seed with one candidate gives the same image back (and the text drawn again when it
   * was); a new seed is worth the form's best of N.
   */
  requestFromImage(image: GalleryImage, newSeed: boolean): GenerationRequest | undefined {
    const s = image.settings;
    const l = image.legibility;
    if (!s || s.prompt.trim() === '') return undefined;
    const f = this.state.form;
    const request: GenerationRequest = {
      prompt: s.prompt,
      negativePrompt: s.negativePrompt,
      width: s.width ?? f.width,
      height: s.height ?? f.height,
      steps: s.steps ?? f.steps,
      guidanceScale: s.guidanceScale ?? f.guidanceScale,
      ...(s.scheduler ? { scheduler: s.scheduler } : {}),
      seed: newSeed || s.seed === undefined ? this.randomSeed() : s.seed,
      numImages: 1,
      ...(l ? { text: l.target } : {}),
      candidates: newSeed ? f.candidates : 1,
      exactFallback: l?.exactTextFallback ?? (newSeed && f.exactFallback),
    };
    return isGenerationRequest(request) ? request : undefined;
  }

  /** "Regenerate" (same seed) or "Vary" (new seed): queues the job right away. */
  regenerate(id: string, newSeed: boolean): GenerationRequest | undefined {
    const image = this.state.images.find((i) => i.id === id);
    const request = image && this.requestFromImage(image, newSeed);
    if (!request) return undefined;
    this.host.postMessage(SubmitJob.create({ request }));
    return request;
  }
}

/**
 * A job places its losing candidates a moment after the image it kept; sorted as if a little older,
 * they follow that image instead of standing before it.
 */
export const candidateSortLagMs = 10_000;

function sortTime(image: GalleryImage): number {
  return image.legibility?.chosen === false ? image.mtimeMs - candidateSortLagMs : image.mtimeMs;
}

function sortNewestFirst(images: GalleryImage[]): GalleryImage[] {
  return [...images].sort((a, b) => sortTime(b) - sortTime(a) || a.id.localeCompare(b.id));
}

/** "1:05" style durations for the step counter. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return `${m}:${String(s).padStart(2, '0')}`;
}

/** Images the job samples: its images, or its candidates when it ranks several. */
export function jobImageCount(job: JobView): number {
  if (job.kind === 'drawText') return 1;
  const candidates = job.request.candidates ?? 1;
  return Math.max(job.request.numImages, candidates > 1 ? candidates : 1, job.image + (job.images ?? 1));
}

/** What the job row says the job is: the prompt, or "Fix text on sign.png: “OPEN”". */
export function jobTitle(job: JobView): string {
  if (job.kind === 'drawText') return `Fix text on ${job.drawText.source.split('/').pop()}: “${job.drawText.target.replace(/\s*\n\s*/g, ' / ')}”`;
  return job.request.prompt;
}

/** Sampling steps done so far over all images; a batch advances several images per step. */
export function jobStepsDone(job: JobView): number {
  return job.image * job.totalSteps + (job.images ?? 1) * job.step;
}

/** "Image 2/3 · ", "Images 1–4/8 · ", "Candidate 2/4 · ", or '' for a job of one image. */
export function jobImageLabel(job: JobView): string {
  const count = jobImageCount(job);
  if (count <= 1 || job.kind === 'drawText') return '';
  const noun = (job.request.candidates ?? 1) > 1 ? 'Candidate' : 'Image';
  const batch = job.images ?? 1;
  return batch > 1 ? `${noun}s ${job.image + 1}–${job.image + batch}/${count} · ` : `${noun} ${job.image + 1}/${count} · `;
}

/** Remaining time from the pace so far, across all images of the job; undefined before the first step. */
export function estimateRemainingMs(job: JobView): number | undefined {
  const total = job.totalSteps * jobImageCount(job);
  const done = jobStepsDone(job);
  if (done <= 0 || total <= 0 || job.elapsedMs <= 0) return undefined;
  return (job.elapsedMs / done) * Math.max(0, total - done);
}
