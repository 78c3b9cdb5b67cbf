// Gallery webview entry point (browser). Renders GalleryController's state with plain DOM calls:
// every text from a prompt or a file goes in through textContent or an attribute, never innerHTML,
// so a prompt like `<img src=x onerror=…>` stays text.
import { GalleryController, estimateRemainingMs, formatDuration, jobImageCount, jobImageLabel, jobStepsDone, jobTitle } from './galleryController.ts';
import type { FormState } from './galleryController.ts';
import { jobLegibilitySummary, legibilityBadge } from './legibilityBadge.ts';
import { candidateChoices, generationLimits } from './protocol.ts';
import type { GalleryImage, ImageAction, JobView, WebviewToHostMessage } from './protocol.ts';

interface VsCodeApi {
  postMessage(message: WebviewToHostMessage): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

type Attrs = Record<string, string | number | boolean | undefined>;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  return node;
}

const vscode = acquireVsCodeApi();
const controller = new GalleryController(vscode, { persisted: vscode.getState() });

// ---- form -----------------------------------------------------------------------------------

function field(label: string, control: HTMLElement, extra?: HTMLElement): HTMLElement {
  const id = control.id;
  return el('div', { class: 'field' }, el('label', { for: id }, label), control, ...(extra ? [extra] : []));
}

const promptInput = el('textarea', {
  id: 'prompt',
  rows: 3,
  maxlength: generationLimits.promptChars,
  placeholder: 'a neon sign that says "OPEN 24/7"',
  'aria-describedby': 'token-count',
});
const tokenCount = el('span', { id: 'token-count', class: 'token-count', 'aria-live': 'polite' });
const negativeInput = el('textarea', { id: 'negative-prompt', rows: 2, maxlength: generationLimits.promptChars, placeholder: 'blurry, misspelled' });
const presetSelect = el('select', { id: 'preset' }, el('option', { value: 'custom' }, 'Custom…'));
const widthInput = el('input', { id: 'width', type: 'number', min: generationLimits.minSide, max: generationLimits.maxSide, step: 8 });
const heightInput = el('input', { id: 'height', type: 'number', min: generationLimits.minSide, max: generationLimits.maxSide, step: 8 });
const stepsInput = el('input', { id: 'steps', type: 'number', min: 1, max: generationLimits.maxSteps, step: 1 });
const guidanceInput = el('input', { id: 'guidance', type: 'number', min: 0, max: generationLimits.maxGuidance, step: 0.5 });
const schedulerSelect = el('select', { id: 'scheduler' });
const seedInput = el('input', { id: 'seed', type: 'number', min: 0, max: generationLimits.maxSeed, step: 1 });
const seedLock = el('input', { id: 'seed-lock', type: 'checkbox' });
const imagesInput = el('input', { id: 'num-images', type: 'number', min: 1, max: generationLimits.maxImages, step: 1 });
const textInput = el('input', {
  id: 'target-text',
  type: 'text',
  maxlength: generationLimits.textChars,
  'aria-describedby': 'target-text-hint',
  spellcheck: false,
});
const textHint = el('span', { id: 'target-text-hint', class: 'hint' });
const candidatesSelect = el('select', { id: 'candidates', title: 'Seeds to generate and rank by what OCR reads; the best one is kept' });
const fallbackCheckbox = el('input', { id: 'exact-fallback', type: 'checkbox' });
const generateButton = el('button', { id: 'generate', type: 'submit', class: 'primary', title: 'Generate (Ctrl+Enter)' }, 'Generate');
const formErrors = el('ul', { id: 'form-errors', class: 'errors', role: 'alert' });

const form = el(
  'form',
  { id: 'generate-form', 'aria-label': 'Generate an image' },
  field('Prompt', promptInput, tokenCount),
  field('Negative prompt', negativeInput),
  el(
    'div',
    { class: 'row' },
    field('Size', presetSelect),
    field('Width', widthInput),
    field('Height', heightInput),
  ),
  el(
    'div',
    { class: 'row' },
    field('Steps', stepsInput),
    field('Guidance', guidanceInput),
    field('Scheduler', schedulerSelect),
  ),
  el(
    'div',
    { class: 'row' },
    field('Seed', seedInput, el('label', { class: 'checkbox', for: 'seed-lock' }, seedLock, 'Lock')),
    field('Images', imagesInput),
  ),
  field('Text in the image', textInput, textHint),
  el(
    'div',
    { class: 'row' },
    field('Candidates', candidatesSelect),
    el(
      'div',
      { class: 'field checkbox-field' },
      el('label', { class: 'checkbox', for: 'exact-fallback', title: 'When no candidate spells the text, draw it over the best one with a bundled font' }, fallbackCheckbox, 'Draw exact text if none matches'),
    ),
  ),
  formErrors,
  el('div', { class: 'actions' }, generateButton),
);

function numberOf(input: HTMLInputElement): number {
  return input.value.trim() === '' ? Number.NaN : Number(input.value);
}

const bindings: [HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement, (value: string, input: HTMLElement) => Partial<FormState>][] = [
  [promptInput, (v) => ({ prompt: v })],
  [negativeInput, (v) => ({ negativePrompt: v })],
  [presetSelect, (v) => ({ preset: v })],
  [widthInput, () => ({ width: numberOf(widthInput) })],
  [heightInput, () => ({ height: numberOf(heightInput) })],
  [stepsInput, () => ({ steps: numberOf(stepsInput) })],
  [guidanceInput, () => ({ guidanceScale: numberOf(guidanceInput) })],
  [schedulerSelect, (v) => ({ scheduler: v as FormState['scheduler'] })],
  [seedInput, () => ({ seed: numberOf(seedInput), seedLocked: true })],
  [imagesInput, () => ({ numImages: numberOf(imagesInput) })],
  [textInput, (v) => ({ text: v })],
  [candidatesSelect, (v) => ({ candidates: Number(v) })],
];
for (const [input, toPatch] of bindings) {
  input.addEventListener('input', () => controller.updateForm(toPatch(input.value, input)));
}
seedLock.addEventListener('change', () => controller.updateForm({ seedLocked: seedLock.checked }));
fallbackCheckbox.addEventListener('change', () => controller.updateForm({ exactFallback: fallbackCheckbox.checked }));

function candidatesLabel(n: number): string {
  return n === 0 ? 'Auto (4 on a GPU, 1 on the CPU)' : n === 1 ? '1 (just check the text)' : `Best of ${n}`;
}
form.addEventListener('submit', (event) => {
  event.preventDefault();
  controller.submit();
});
form.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    controller.submit();
  }
});

function setValue(input: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement, value: string): void {
  // Rewriting the field being typed in would move the caret; a disabled one takes no typing.
  if ((document.activeElement !== input || input.disabled) && input.value !== value) input.value = value;
}

function renderForm(): void {
  const { form: f, config, tokens, formErrors: errors } = controller.state;
  if (config && schedulerSelect.options.length !== config.schedulers.length + 1) {
    schedulerSelect.replaceChildren(
      el('option', { value: '' }, 'Model default'),
      ...config.schedulers.map((s) => el('option', { value: s.name }, s.label)),
    );
  }
  if (config && presetSelect.options.length !== config.presets.length + 1) {
    presetSelect.replaceChildren(
      ...config.presets.map((p) => el('option', { value: p.id }, p.label)),
      el('option', { value: 'custom' }, 'Custom…'),
    );
  }
  setValue(promptInput, f.prompt);
  setValue(negativeInput, f.negativePrompt);
  setValue(presetSelect, f.preset);
  setValue(widthInput, Number.isNaN(f.width) ? '' : String(f.width));
  setValue(heightInput, Number.isNaN(f.height) ? '' : String(f.height));
  setValue(stepsInput, Number.isNaN(f.steps) ? '' : String(f.steps));
  setValue(guidanceInput, Number.isNaN(f.guidanceScale) ? '' : String(f.guidanceScale));
  setValue(schedulerSelect, f.scheduler);
  setValue(seedInput, Number.isNaN(f.seed) ? '' : String(f.seed));
  const oneImage = controller.keepsOneImage;
  imagesInput.disabled = oneImage;
  imagesInput.title = oneImage ? 'Best of several candidates and the drawn text keep one image' : '';
  setValue(imagesInput, Number.isNaN(f.numImages) ? '' : String(f.numImages));
  // A count from the settings that the list lacks (3, 16) still shows as itself.
  const choices = [...new Set<number>([...candidateChoices, f.candidates].filter(Number.isInteger))].sort((a, b) => a - b);
  if (candidatesSelect.options.length !== choices.length || [...candidatesSelect.options].some((o, i) => Number(o.value) !== choices[i])) {
    candidatesSelect.replaceChildren(...choices.map((n) => el('option', { value: n }, candidatesLabel(n))));
  }
  setValue(candidatesSelect, String(f.candidates));
  setValue(textInput, f.text);
  fallbackCheckbox.checked = f.exactFallback;
  const quoted = controller.quotedText;
  textInput.placeholder = quoted ? quoted.replace(/\n/g, ' / ') : 'Quote it in the prompt, or type it here';
  const checks = controller.checksText;
  candidatesSelect.disabled = !checks;
  fallbackCheckbox.disabled = !checks;
  const target = controller.targetText;
  textHint.textContent = !checks
    ? 'The automatic text check is off (letterpress.checkText); type a text to check it anyway'
    : target
      ? `OCR checks for: ${target.replace(/\n/g, ' / ')}`
      : 'No text to check';
  seedLock.checked = f.seedLocked;
  seedInput.title = f.seedLocked ? 'This seed is used for every job' : 'A new seed is drawn for each job; lock to keep one';
  const custom = f.preset === 'custom';
  widthInput.disabled = !custom;
  heightInput.disabled = !custom;
  tokenCount.textContent = tokens ? `${tokens.count}/${tokens.limit} tokens` : '';
  tokenCount.classList.toggle('over', controller.tokensOverLimit);
  tokenCount.title = controller.tokensOverLimit ? 'The model reads only the first tokens; the rest of the prompt is ignored' : '';
  generateButton.disabled = config !== undefined && !config.canGenerate;
  generateButton.title = config && !config.canGenerate ? config.reason ?? '' : 'Generate (Ctrl+Enter)';
  formErrors.replaceChildren(...errors.map((e) => el('li', {}, e)));
}

// ---- jobs -----------------------------------------------------------------------------------

const jobsList = el('ul', { id: 'jobs', class: 'jobs', 'aria-label': 'Jobs', 'aria-live': 'polite' });
const stateLabels: Record<JobView['state'], string> = {
  queued: 'Queued',
  loading: 'Loading',
  running: 'Generating',
  done: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

function stateLabel(job: JobView): string {
  return job.kind === 'drawText' && job.state === 'running' ? 'Drawing' : stateLabels[job.state];
}

function jobProgressText(job: JobView): string {
  if (job.state === 'loading') return job.detail ?? 'Loading the model…';
  if (job.state === 'done') return jobLegibilitySummary(job, controller.state.images);
  if (job.state !== 'running') return job.error ?? '';
  // A drawing has no steps to count; its detail says what it is doing ("Drawing “OPEN”…").
  if (job.kind === 'drawText') return job.detail ?? '';
  // Between the steps: decoding, reading the text with OCR, drawing it.
  if (job.detail) return `${jobImageLabel(job)}${job.detail} · ${formatDuration(job.elapsedMs)} elapsed`;
  const imagePart = jobImageLabel(job);
  const remaining = estimateRemainingMs(job);
  const left = remaining === undefined ? '' : ` · ${formatDuration(remaining)} left`;
  return `${imagePart}Step ${job.step}/${job.totalSteps} · ${formatDuration(job.elapsedMs)} elapsed${left}`;
}

function renderJob(job: JobView): HTMLElement {
  const item = el('li', { class: `job ${job.state}`, 'data-job-id': job.jobId, 'data-state': job.state, 'data-kind': job.kind ?? 'generate' });
  const picture = el('div', { class: 'job-picture' });
  const finished = job.outputs
    .map((id) => controller.state.images.find((image) => image.id === id))
    .filter((image): image is GalleryImage => image !== undefined);
  if (finished.length > 0) {
    for (const image of finished) picture.append(el('img', { src: image.thumbnailUri, alt: '' }));
    const losers = (job.candidates ?? [])
      .map((id) => controller.state.images.find((image) => image.id === id))
      .filter((image): image is GalleryImage => image !== undefined);
    for (const image of losers) {
      const badge = image.legibility ? ` (${legibilityBadge(image.legibility).text})` : '';
      picture.append(el('img', { class: 'candidate', src: image.thumbnailUri, alt: '', title: `Candidate that lost${badge}: ${image.id}` }));
    }
  } else if (job.previewUri) {
    picture.append(el('img', { class: 'preview', src: job.previewUri, alt: 'Preview of the image being generated' }));
  }
  const body = el(
    'div',
    { class: 'job-body' },
    el('div', { class: 'job-prompt' }, jobTitle(job)),
    el('div', { class: 'job-status' }, el('span', { class: 'job-state' }, stateLabel(job)), ' ', el('span', { class: 'job-progress' }, jobProgressText(job))),
  );
  if (job.state === 'running' && job.kind === 'drawText') {
    // No steps: an indeterminate bar.
    body.append(el('progress', { 'aria-label': 'Drawing the text' }));
  } else if (job.state === 'running') {
    body.append(el('progress', { max: job.totalSteps * jobImageCount(job), value: jobStepsDone(job), 'aria-label': 'Steps done' }));
  }
  if (job.state === 'queued' || job.state === 'loading' || job.state === 'running') {
    const cancel = el('button', { class: 'secondary', 'data-action': 'cancel', 'aria-label': `Cancel job: ${jobTitle(job)}` }, 'Cancel');
    cancel.addEventListener('click', () => controller.cancel(job.jobId));
    body.append(cancel);
  }
  item.append(picture, body);
  return item;
}

let renderedJobsKey = '';
let jobsImages: GalleryImage[] | undefined;

function renderJobs(): void {
  const jobs = controller.state.jobs;
  // Typing in the form re-renders too; leave the job rows (and a focused Cancel button) alone then.
  const key = JSON.stringify(jobs);
  if (key === renderedJobsKey && jobsImages === controller.state.images) return;
  renderedJobsKey = key;
  jobsImages = controller.state.images;
  jobsList.replaceChildren(...jobs.map(renderJob));
  jobsList.hidden = jobs.length === 0;
}

// ---- gallery --------------------------------------------------------------------------------

const searchInput = el('input', { id: 'search', type: 'search', placeholder: 'Search prompts', 'aria-label': 'Search prompts' });
searchInput.addEventListener('input', () => controller.setSearch(searchInput.value));
const galleryCount = el('span', { class: 'count', 'aria-live': 'polite' });
const galleryGrid = el('ul', { id: 'gallery', class: 'gallery', 'aria-label': 'Generated images' });
const emptyNote = el('p', { class: 'empty' });

const actionLabels: [ImageAction | 'regenerate' | 'vary', string, string][] = [
  ['open', 'Open', 'Open the image in an editor'],
  ['insertReference', 'Insert', 'Insert a reference at the cursor of the last active editor'],
  ['copyPath', 'Copy path', 'Copy the workspace-relative path'],
  ['copyPrompt', 'Copy prompt', 'Copy the prompt'],
  ['regenerate', 'Regenerate', 'Generate again with the same settings and seed'],
  ['vary', 'Vary', 'Generate again with the same settings and a new seed'],
  ['export', 'Export…', 'Export an icon set with favicon.ico, social banners or a transparent PNG (E)'],
  ['drawText', 'Fix text', 'Draw the exact text over the image as a new file next to it: OCR does not read it exactly'],
  ['reveal', 'Reveal', 'Reveal in the Explorer'],
  ['delete', 'Delete', 'Move to the trash'],
];

function runAction(image: GalleryImage, action: (typeof actionLabels)[number][0]): void {
  if (action === 'regenerate' || action === 'vary') controller.regenerate(image.id, action === 'vary');
  else controller.imageAction(image.id, action);
}

function renderImage(image: GalleryImage): HTMLElement {
  const settings = image.settings;
  const caption = settings?.prompt || image.name;
  const details = settings
    ? [
        settings.width && settings.height ? `${settings.width}×${settings.height}` : '',
        settings.steps ? `${settings.steps} steps` : '',
        settings.sampler ?? '',
        settings.seed !== undefined ? `seed ${settings.seed}` : '',
      ]
        .filter(Boolean)
        .join(' · ')
    : 'No generation settings in this file';
  const legibility = image.legibility;
  const losing = legibility !== undefined && !legibility.chosen;
  const card = el('li', {
    class: losing ? 'card candidate' : 'card',
    tabindex: 0,
    'data-id': image.id,
    title: caption,
    'aria-label': losing ? `${caption} (candidate)` : caption,
    'aria-keyshortcuts': 'Enter Delete E',
  });
  const toolbar = el('div', { class: 'toolbar', role: 'toolbar', 'aria-label': 'Image actions' });
  for (const [action, label, title] of actionLabels) {
    // Offered only where OCR checked the text and it does not read exactly.
    if (action === 'drawText' && (!legibility || legibility.exactMatch)) continue;
    const needsSettings = action === 'regenerate' || action === 'vary' || action === 'copyPrompt';
    const button = el('button', { class: 'secondary', 'data-action': action, title, disabled: needsSettings && !settings?.prompt }, label);
    button.addEventListener('click', (event) => {
      event.stopPropagation();
      runAction(image, action);
    });
    toolbar.append(button);
  }
  const marks = el('div', { class: 'marks' });
  if (legibility) {
    const badge = legibilityBadge(legibility);
    marks.append(el('span', { class: badge.exact ? 'badge legibility exact' : 'badge legibility', title: badge.title, 'aria-label': badge.label, role: 'img' }, badge.text));
  }
  if (losing) marks.append(el('span', { class: 'badge candidate-tag', title: 'A candidate that lost to the chosen image of its job' }, 'candidate'));
  card.append(
    el('img', { class: 'thumb', src: image.thumbnailUri, alt: '', loading: 'lazy' }),
    el('div', { class: 'caption' }, caption),
    ...(marks.childElementCount > 0 ? [marks] : []),
    el('div', { class: 'details' }, details),
    el('div', { class: 'file' }, image.id),
    toolbar,
  );
  card.addEventListener('dblclick', () => runAction(image, 'open'));
  card.addEventListener('keydown', (event) => {
    if (event.target !== card) return;
    if (event.key === 'Enter') runAction(image, 'open');
    else if (event.key === 'Delete') runAction(image, 'delete');
    else if ((event.key === 'e' || event.key === 'E') && !event.ctrlKey && !event.metaKey && !event.altKey) runAction(image, 'export');
    else if (event.key === 'ArrowRight' || event.key === 'ArrowLeft') {
      const sibling = event.key === 'ArrowRight' ? card.nextElementSibling : card.previousElementSibling;
      if (sibling instanceof HTMLElement) sibling.focus();
    }
  });
  return card;
}

let renderedImages: GalleryImage[] | undefined;
let renderedSearch: string | undefined;

function renderGallery(): void {
  const { images, search, config } = controller.state;
  if (images === renderedImages && search === renderedSearch) return;
  // Keep keyboard focus on the same card across a rebuild caused by a file change.
  const focusedId = document.activeElement instanceof HTMLElement ? document.activeElement.closest<HTMLElement>('.card')?.dataset.id : undefined;
  renderedImages = images;
  renderedSearch = search;
  setValue(searchInput, search);
  const visible = controller.visibleImages;
  galleryGrid.replaceChildren(...visible.map(renderImage));
  galleryCount.textContent = search ? `${visible.length} of ${images.length}` : `${images.length}`;
  emptyNote.hidden = visible.length > 0;
  emptyNote.textContent =
    images.length === 0 ? `No images in ${config?.outputFolder ?? 'the output folder'} yet.` : 'No image matches the search.';
  if (focusedId) galleryGrid.querySelector<HTMLElement>(`.card[data-id="${CSS.escape(focusedId)}"]`)?.focus();
}

// ---- page -----------------------------------------------------------------------------------

document.body.append(
  el(
    'main',
    {},
    el('section', { class: 'generate', 'aria-labelledby': 'generate-heading' }, el('h2', { id: 'generate-heading' }, 'Generate'), form, jobsList),
    el(
      'section',
      { class: 'browse', 'aria-labelledby': 'gallery-heading' },
      el('div', { class: 'gallery-header' }, el('h2', { id: 'gallery-heading' }, 'Gallery ', galleryCount), searchInput),
      galleryGrid,
      emptyNote,
    ),
  ),
);

function render(): void {
  renderForm();
  renderJobs();
  renderGallery();
  vscode.setState(controller.persistable());
}

controller.onChange(render);
window.addEventListener('message', (event: MessageEvent) => controller.receive(event.data));
render();
controller.start();
