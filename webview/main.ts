// Gallery webview entry point (browser): the form, the job list, the grid and the detail pane,
// rendered from GalleryController's state. Lists are keyed and patched in place (webview/dom.ts);
// every text from a prompt or a file goes in through textContent or an attribute, never innerHTML.
import { GalleryController } from './galleryController.ts';
import type { FormState } from './galleryController.ts';
import type { CardAction } from './cardActions.ts';
import { DetailPane } from './detailPane.ts';
import { codicon, el, setText } from './dom.ts';
import { ImageCards } from './imageCards.ts';
import { JobRows } from './jobRows.ts';
import { candidateChoices, galleryImageDragMime, generationLimits } from './protocol.ts';
// Form controls in VS Code's own look (the maintained successor of the webview UI toolkit): each
// registers its custom element. Lit styles them through adopted stylesheets, which the CSP allows.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-textarea/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import type { VscodeCheckbox } from '@vscode-elements/elements/dist/vscode-checkbox/vscode-checkbox.js';
import type { VscodeSingleSelect } from '@vscode-elements/elements/dist/vscode-single-select/vscode-single-select.js';
import type { VscodeTextarea } from '@vscode-elements/elements/dist/vscode-textarea/vscode-textarea.js';
import type { VscodeTextfield } from '@vscode-elements/elements/dist/vscode-textfield/vscode-textfield.js';
import type { GalleryImage, WebviewToHostMessage } from './protocol.ts';

interface VsCodeApi {
  postMessage(message: WebviewToHostMessage): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const controller = new GalleryController(vscode, { persisted: vscode.getState() });

// ---- form -----------------------------------------------------------------------------------

function field(label: string, control: HTMLElement, extra?: HTMLElement): HTMLElement {
  const id = control.id;
  // The native control sits in the element's shadow root, where <label for> cannot reach: the
  // element hands its `label` on as the control's accessible name.
  if ('label' in control) (control as { label: string }).label = label;
  return el('div', { class: 'field' }, el('label', { for: id }, label), control, ...(extra ? [extra] : []));
}

const promptInput = el('vscode-textarea', {
  id: 'prompt',
  rows: 3,
  maxlength: generationLimits.promptChars,
  placeholder: 'a neon sign that says "OPEN 24/7"',
  'aria-describedby': 'token-count',
  resize: 'vertical',
});
const tokenCount = el('span', { id: 'token-count', class: 'token-count', 'aria-live': 'polite' });
const negativeInput = el('vscode-textarea', { id: 'negative-prompt', rows: 2, maxlength: generationLimits.promptChars, placeholder: 'blurry, misspelled', resize: 'vertical' });
const presetSelect = el('vscode-single-select', { id: 'preset' }, el('vscode-option', { value: 'custom' }, 'Custom…'));
const numberField = (id: string, min: number, max: number, step: number) => el('vscode-textfield', { id, type: 'number', min, max, step });
const widthInput = numberField('width', generationLimits.minSide, generationLimits.maxSide, 8);
const heightInput = numberField('height', generationLimits.minSide, generationLimits.maxSide, 8);
const stepsInput = numberField('steps', 1, generationLimits.maxSteps, 1);
const guidanceInput = numberField('guidance', 0, generationLimits.maxGuidance, 0.5);
const schedulerSelect = el('vscode-single-select', { id: 'scheduler' });
const seedInput = numberField('seed', 0, generationLimits.maxSeed, 1);
const seedLock = el('vscode-checkbox', { id: 'seed-lock', title: 'Use this seed for every job' }, 'Lock');
const imagesInput = numberField('num-images', 1, generationLimits.maxImages, 1);
const textInput = el('vscode-textfield', {
  id: 'target-text',
  type: 'text',
  maxlength: generationLimits.textChars,
  'aria-describedby': 'target-text-hint',
  spellcheck: 'false',
});
const textHint = el('span', { id: 'target-text-hint', class: 'hint' });
const candidatesSelect = el('vscode-single-select', { id: 'candidates', title: 'Seeds to generate and rank by what OCR reads; the best one is kept' });
const fallbackCheckbox = el('vscode-checkbox', { id: 'exact-fallback', title: 'When no candidate spells the text, draw it over the best one with a bundled font' }, 'Draw exact text if none matches');
// Start image: picked from the workspace, a gallery card or a file dropped here; a rectangle dragged
// on it is the only region repainted (inpainting).
const startPick = el('vscode-button', { id: 'start-image-pick', secondary: true, icon: 'folder-opened', title: 'Pick a PNG, JPEG or WebP image of the workspace' }, 'Choose…');
const startHint = el('span', { class: 'hint' }, 'or drop a gallery card, or an image from the Explorer (hold Shift), here');
const startEmpty = el('div', { class: 'start-image-empty' }, startPick, startHint);
const startPreview = el('img', { id: 'start-image-preview', alt: 'Start image', draggable: 'false' });
const startRect = el('div', { class: 'start-image-region', 'aria-hidden': 'true' });
const startFrame = el('div', { class: 'start-image-frame', title: 'Drag a rectangle on the image to repaint only that region' }, startPreview, startRect);
const startName = el('span', { class: 'start-image-name' });
const strengthInput = el('vscode-textfield', { id: 'strength', type: 'number', min: 0.05, max: 1, step: 0.05, title: 'How much of the image is repainted: 0.3 stays close to it, 0.8 keeps little more than its layout and colours' });
const startRegionNote = el('span', { class: 'hint', id: 'start-image-region-note' });
const startClearRegion = el('vscode-button', { id: 'start-image-clear-region', secondary: true, icon: 'discard' }, 'Whole image');
const startRemove = el('vscode-button', { id: 'start-image-remove', secondary: true, icon: 'close' }, 'Remove');
const startChosen = el(
  'div',
  { class: 'start-image-chosen' },
  startFrame,
  el('div', { class: 'start-image-side' }, startName, field('Strength', strengthInput), startRegionNote, el('div', { class: 'row' }, startClearRegion, startRemove)),
);
const startZone = el('div', { id: 'start-image', class: 'start-image', role: 'group', 'aria-label': 'Start image' }, startEmpty, startChosen);
const generateButton = el('vscode-button', { id: 'generate', type: 'submit', icon: 'sparkle', title: 'Generate (Ctrl+Enter)' }, 'Generate');
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
    field('Seed', seedInput, seedLock),
    field('Images', imagesInput),
  ),
  field('Text in the image', textInput, textHint),
  el('div', { class: 'field' }, el('label', { for: 'start-image-pick' }, 'Start image'), startZone),
  el(
    'div',
    { class: 'row' },
    field('Candidates', candidatesSelect),
    el('div', { class: 'field checkbox-field' }, fallbackCheckbox),
  ),
  formErrors,
  el('div', { class: 'actions' }, generateButton),
);

function numberOf(input: VscodeTextfield): number {
  return input.value.trim() === '' ? Number.NaN : Number(input.value);
}

type FormControl = VscodeTextfield | VscodeTextarea | VscodeSingleSelect;
const bindings: [FormControl, (value: string, input: HTMLElement) => Partial<FormState>][] = [
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
  // Text fields fire `input` per keystroke; the selects fire `change` (and `input`) on a pick.
  const update = () => controller.updateForm(toPatch(input.value, input));
  input.addEventListener(input instanceof HTMLElement && input.tagName === 'VSCODE-SINGLE-SELECT' ? 'change' : 'input', update);
}
seedLock.addEventListener('change', () => controller.updateForm({ seedLocked: seedLock.checked }));
fallbackCheckbox.addEventListener('change', () => controller.updateForm({ exactFallback: fallbackCheckbox.checked }));

startPick.addEventListener('click', () => controller.chooseStartImage({ pick: true }));
startRemove.addEventListener('click', () => controller.clearStartImage());
startClearRegion.addEventListener('click', () => controller.setRegion(undefined));
strengthInput.addEventListener('input', () => controller.setStrength(numberOf(strengthInput)));
// A gallery card dropped here (its id), or a file from the Explorer (a URI list; VS Code asks for Shift).
startZone.addEventListener('dragover', (event) => {
  const types = [...(event.dataTransfer?.types ?? [])];
  if (!types.some((t) => t === galleryImageDragMime || t === 'text/uri-list' || t === 'application/vnd.code.uri-list')) return;
  event.preventDefault();
  startZone.classList.add('drop-target');
});
startZone.addEventListener('dragleave', () => startZone.classList.remove('drop-target'));
startZone.addEventListener('drop', (event) => {
  startZone.classList.remove('drop-target');
  const data = event.dataTransfer;
  if (!data) return;
  event.preventDefault();
  const id = data.getData(galleryImageDragMime);
  if (id) return controller.chooseStartImage({ id });
  const uri = (data.getData('text/uri-list') || data.getData('application/vnd.code.uri-list')).split(/\r?\n/).find((line) => line && !line.startsWith('#'));
  if (uri) controller.chooseStartImage({ uri: uri.trim() });
});
// The region: dragged on the image, kept as fractions of it.
let dragFrom: { x: number; y: number } | undefined;
function fractionAt(event: PointerEvent): { x: number; y: number } {
  const box = startPreview.getBoundingClientRect();
  return { x: Math.min(1, Math.max(0, (event.clientX - box.left) / box.width)), y: Math.min(1, Math.max(0, (event.clientY - box.top) / box.height)) };
}
function regionBetween(a: { x: number; y: number }, b: { x: number; y: number }) {
  return { left: Math.min(a.x, b.x), top: Math.min(a.y, b.y), width: Math.abs(a.x - b.x), height: Math.abs(a.y - b.y) };
}
function showRegion(region: { left: number; top: number; width: number; height: number } | undefined): void {
  startRect.hidden = !region;
  if (!region) return;
  startRect.style.left = `${region.left * 100}%`;
  startRect.style.top = `${region.top * 100}%`;
  startRect.style.width = `${region.width * 100}%`;
  startRect.style.height = `${region.height * 100}%`;
}
startFrame.addEventListener('pointerdown', (event) => {
  if (event.button !== 0) return;
  dragFrom = fractionAt(event);
  startFrame.setPointerCapture(event.pointerId);
  event.preventDefault();
});
startFrame.addEventListener('pointermove', (event) => {
  if (dragFrom) showRegion(regionBetween(dragFrom, fractionAt(event)));
});
startFrame.addEventListener('pointerup', (event) => {
  if (!dragFrom) return;
  const region = regionBetween(dragFrom, fractionAt(event));
  dragFrom = undefined;
  controller.setRegion(region);
});

function renderStartImage(): void {
  const start = controller.state.start;
  startEmpty.hidden = start !== undefined;
  startChosen.hidden = start === undefined;
  if (!start) return;
  if (startPreview.getAttribute('src') !== start.view.uri) startPreview.src = start.view.uri;
  setText(startName, `${start.view.name} · ${start.view.width}×${start.view.height}`);
  startName.title = start.view.id;
  setValue(strengthInput, Number.isNaN(start.strength) ? '' : String(start.strength));
  if (!dragFrom) showRegion(start.region);
  const f = controller.state.form;
  const box = controller.maskBoxFor(f.width, f.height);
  setText(startRegionNote, box ? `Repaints ${box.width}×${box.height} at ${box.left},${box.top}; the rest is kept` : 'Drag on the image to repaint only a rectangle');
  startClearRegion.hidden = box === undefined;
}

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

function setValue(input: FormControl, value: string): void {
  // Rewriting the field being typed in would move the caret; a disabled one takes no typing.
  if ((document.activeElement !== input || input.disabled) && input.value !== value) input.value = value;
}

function renderForm(): void {
  const { form: f, config, tokens, formErrors: errors } = controller.state;
  if (config && schedulerSelect.childElementCount !== config.schedulers.length + 1) {
    schedulerSelect.replaceChildren(
      el('vscode-option', { value: '' }, 'Model default'),
      ...config.schedulers.map((s) => el('vscode-option', { value: s.name }, s.label)),
    );
  }
  if (config && presetSelect.childElementCount !== config.presets.length + 1) {
    presetSelect.replaceChildren(
      ...config.presets.map((p) => el('vscode-option', { value: p.id }, p.label)),
      el('vscode-option', { value: 'custom' }, 'Custom…'),
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
  const offered = [...candidatesSelect.children].map((o) => Number(o.getAttribute('value')));
  if (offered.length !== choices.length || offered.some((n, i) => n !== choices[i])) {
    candidatesSelect.replaceChildren(...choices.map((n) => el('vscode-option', { value: n }, candidatesLabel(n))));
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
  renderStartImage();
}

// ---- jobs -----------------------------------------------------------------------------------

const jobRows = new JobRows((jobId) => controller.cancel(jobId));

// ---- gallery --------------------------------------------------------------------------------

const searchIcon = codicon('search');
searchIcon.slot = 'content-before';
const searchInput = el('vscode-textfield', { id: 'search', type: 'search', placeholder: 'Search prompts', label: 'Search prompts', 'aria-label': 'Search prompts' }, searchIcon);
searchInput.addEventListener('input', () => controller.setSearch(searchInput.value));
const galleryCount = el('span', { class: 'count', 'aria-live': 'polite' });
const emptyNote = el('p', { class: 'empty' });

function runAction(image: GalleryImage, action: CardAction): void {
  if (action === 'regenerate' || action === 'vary') controller.regenerate(image.id, action === 'vary');
  else controller.imageAction(image.id, action);
}

const cards = new ImageCards({ run: runAction, select: (image) => controller.select(image.id) });
const detail = new DetailPane({
  run: runAction,
  select: (id) => {
    controller.select(id);
    if (id) cards.grid.querySelector<HTMLElement>(`.card[data-id="${CSS.escape(id)}"]`)?.scrollIntoView({ block: 'nearest' });
  },
  useSettings: (image) => {
    const request = controller.requestFromImage(image, false);
    if (request) controller.fillForm(request);
    promptInput.focus();
  },
});
detail.pane.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') {
    const id = controller.state.selectedId;
    controller.select(undefined);
    if (id) cards.grid.querySelector<HTMLElement>(`.card[data-id="${CSS.escape(id)}"]`)?.focus();
  }
});
const browseBody = el('div', { class: 'browse-body' }, el('div', { class: 'grid-column' }, cards.grid, emptyNote), detail.pane);

function renderGallery(): void {
  const { images, search, config } = controller.state;
  setValue(searchInput, search);
  const visible = controller.visibleImages;
  const selected = controller.selectedImage;
  cards.render(visible, selected?.id);
  detail.render(selected, selected ? controller.candidatesOf(selected) : []);
  browseBody.classList.toggle('has-detail', selected !== undefined);
  setText(galleryCount, search ? `${visible.length} of ${images.length}` : `${images.length}`);
  emptyNote.hidden = visible.length > 0;
  setText(emptyNote, images.length === 0 ? `No images in ${config?.outputFolder ?? 'the output folder'} yet.` : 'No image matches the search.');
}

// ---- page -----------------------------------------------------------------------------------

document.body.append(
  el(
    'main',
    {},
    el('section', { class: 'generate', 'aria-labelledby': 'generate-heading' }, el('h2', { id: 'generate-heading' }, 'Generate'), form, jobRows.list),
    el(
      'section',
      { class: 'browse', 'aria-labelledby': 'gallery-heading' },
      el('div', { class: 'gallery-header' }, el('h2', { id: 'gallery-heading' }, 'Gallery ', galleryCount), searchInput),
      browseBody,
    ),
  ),
);

function render(): void {
  renderForm();
  jobRows.render(controller.state.jobs, controller.state.images);
  renderGallery();
  vscode.setState(controller.persistable());
}

controller.onChange(render);
window.addEventListener('message', (event: MessageEvent) => controller.receive(event.data));
render();
controller.start();
