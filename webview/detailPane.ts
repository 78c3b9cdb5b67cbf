// The detail pane of the gallery: the selected image large, its generation parameters, what OCR
// read, and the candidates that lost to it beside it. Rebuilt only when the selection or that
// image changes.
import { codicon, el } from './dom.ts';
import { imageCaption, openContextMenu } from './imageCards.ts';
import { imageMenuContext, provenanceText, textIsOff } from './cardActions.ts';
import type { CardAction } from './cardActions.ts';
import { legibilityBadge } from './legibilityBadge.ts';
import type { GalleryImage } from './protocol.ts';

export interface DetailHandlers {
  run(image: GalleryImage, action: CardAction): void;
  select(id: string | undefined): void;
  /** Puts the image's settings into the form (same seed). */
  useSettings(image: GalleryImage): void;
}

function formatSize(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1e3))} kB`;
}

function rows(entries: [string, string | undefined][]): HTMLElement {
  const list = el('dl', { class: 'detail-params' });
  for (const [name, value] of entries) {
    if (value === undefined || value === '') continue;
    list.append(el('dt', {}, name), el('dd', {}, value));
  }
  return list;
}

export class DetailPane {
  readonly pane = el('aside', { id: 'detail', class: 'detail', 'aria-label': 'Selected image', tabindex: -1 });
  private key = '';

  constructor(private readonly handlers: DetailHandlers) {
    this.pane.hidden = true;
  }

  render(image: GalleryImage | undefined, candidates: readonly GalleryImage[]): void {
    const key = image ? JSON.stringify([image, candidates]) : '';
    if (key === this.key) return;
    this.key = key;
    this.pane.hidden = image === undefined;
    if (!image) {
      this.pane.replaceChildren();
      return;
    }
    const s = image.settings;
    const close = el('button', { type: 'button', class: 'icon-button', 'data-action': 'close', title: 'Close the details (Escape)', 'aria-label': 'Close the details' }, codicon('close'));
    close.addEventListener('click', () => this.handlers.select(undefined));
    const header = el('header', { class: 'detail-header' }, el('h3', { class: 'detail-title', title: image.id }, image.name), close);

    const preview = el('img', { class: 'detail-preview', src: image.uri, alt: imageCaption(image), draggable: 'false' });
    preview.addEventListener('dblclick', () => this.handlers.run(image, 'open'));

    const actions = el('div', { class: 'detail-actions' });
    const button = (action: CardAction | 'use', icon: string, label: string, disabled = false) => {
      const b = el('button', { type: 'button', class: 'secondary', 'data-action': action, disabled }, codicon(icon), label);
      b.addEventListener('click', () => (action === 'use' ? this.handlers.useSettings(image) : this.handlers.run(image, action)));
      actions.append(b);
    };
    button('insertReference', 'insert', 'Insert');
    button('open', 'go-to-file', 'Open');
    button('use', 'arrow-left', 'Use settings', !s?.prompt);
    button('variations', 'layers', 'Variations…', !s?.prompt);
    if (textIsOff(image)) button('drawText', 'whole-word', 'Fix text');
    const more = el('button', { type: 'button', class: 'secondary icon-button', 'data-action': 'more', title: 'More actions…', 'aria-label': 'More actions…' }, codicon('ellipsis'));
    // The pane carries the image's menu context too, so right-click and "…" give the card's menu.
    more.addEventListener('click', () => openContextMenu(this.pane, more));
    actions.append(more);
    this.pane.setAttribute('data-vscode-context', JSON.stringify(imageMenuContext(image)));

    const parameters = rows([
      ['Prompt', s?.prompt],
      ['Negative prompt', s?.negativePrompt],
      ['Size', s?.width && s.height ? `${s.width}×${s.height}` : undefined],
      ['Steps', s?.steps?.toString()],
      ['Sampler', s?.sampler],
      ['Guidance', s?.guidanceScale?.toString()],
      ['Seed', s?.seed?.toString()],
      ['Model', s?.model],
      ['Made', provenanceText(image)],
      ['File', `${image.id} · ${formatSize(image.size)}`],
      ['Modified', new Date(image.mtimeMs).toLocaleString()],
    ]);
    if (!s) parameters.prepend(el('p', { class: 'hint' }, 'No generation settings in this file (made by another tool?).'));

    const sections: HTMLElement[] = [header, preview, actions, el('h4', {}, 'Parameters'), parameters];
    const l = image.legibility;
    if (l) {
      const badge = legibilityBadge(l);
      sections.push(
        el('h4', {}, 'Text check (OCR)'),
        rows([
          ['Text', l.target],
          ['OCR read', l.ocrText.trim() || '(nothing)'],
          ['Score', `${badge.text} · confidence ${Math.round(l.ocrConfidence)}`],
          ['Candidates', l.candidateCount > 1 ? `best of ${l.candidateCount}${l.chosen ? '' : ' (this one lost)'}` : undefined],
          ['Drawn', l.exactTextFallback ? 'The exact text was drawn over the image' : undefined],
        ]),
      );
    }
    if (candidates.length > 0) {
      const strip = el('ul', { class: 'detail-candidates', 'aria-label': 'Candidates that lost' });
      for (const candidate of candidates) {
        const label = `${candidate.name}${candidate.legibility ? ` (${legibilityBadge(candidate.legibility).text})` : ''}`;
        const item = el(
          'li',
          {},
          el('button', { type: 'button', class: 'candidate-button', title: label, 'aria-label': `Show candidate ${label}`, 'data-id': candidate.id }, el('img', { src: candidate.thumbnailUri, alt: '' }), el('span', {}, candidate.legibility ? legibilityBadge(candidate.legibility).text : candidate.name)),
        );
        item.querySelector('button')!.addEventListener('click', () => this.handlers.select(candidate.id));
        strip.append(item);
      }
      sections.push(el('h4', {}, 'Candidates'), strip);
    }
    this.pane.replaceChildren(...sections);
  }
}
