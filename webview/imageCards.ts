// The gallery grid, keyed by image id: a card is built once per image version and moved, not
// rebuilt, when the list changes. Each card has a thumbnail with a codicon toolbar that shows on
// hover and on keyboard focus, and carries `data-vscode-context` so a right-click opens VS Code's
// own context menu with the rest of the actions.
import { cardKeys, imageMenuContext, provenanceText, toolbarActions } from './cardActions.ts';
import type { CardAction } from './cardActions.ts';
import { codicon, el, placeInOrder, setAttr } from './dom.ts';
import { legibilityBadge } from './legibilityBadge.ts';
import { galleryImageDragMime } from './protocol.ts';
import type { GalleryImage } from './protocol.ts';

export interface CardHandlers {
  run(image: GalleryImage, action: CardAction): void;
  select(image: GalleryImage): void;
}

/** "512×512 · 25 steps · DDIM · seed 42", or a note when the file has no settings. */
export function imageDetails(image: GalleryImage): string {
  const settings = image.settings;
  if (!settings) return 'No generation settings in this file';
  return [
    settings.width && settings.height ? `${settings.width}×${settings.height}` : '',
    settings.steps ? `${settings.steps} steps` : '',
    settings.sampler ?? '',
    settings.seed !== undefined ? `seed ${settings.seed}` : '',
  ]
    .filter(Boolean)
    .join(' · ');
}

export function imageCaption(image: GalleryImage): string {
  return image.settings?.prompt || image.name;
}

/**
 * Opens VS Code's webview context menu for `target` as a right-click there would: VS Code listens
 * for the `contextmenu` event in the page and reads `data-vscode-context` up from its target.
 */
export function openContextMenu(target: HTMLElement, anchor: HTMLElement = target): void {
  const box = anchor.getBoundingClientRect();
  target.dispatchEvent(new MouseEvent('contextmenu', { bubbles: true, cancelable: true, clientX: box.left + box.width / 2, clientY: box.bottom, button: 2 }));
}

function buildCard(image: GalleryImage, handlers: CardHandlers): HTMLLIElement {
  const caption = imageCaption(image);
  const legibility = image.legibility;
  const losing = legibility !== undefined && !legibility.chosen;
  const card = el('li', {
    class: losing ? 'card candidate' : 'card',
    tabindex: 0,
    'data-id': image.id,
    title: `${caption}\n${image.id}`,
    'aria-label': losing ? `${caption} (candidate)` : caption,
    'aria-keyshortcuts': cardKeys,
    'data-vscode-context': JSON.stringify(imageMenuContext(image)),
    draggable: 'true',
  });
  const toolbar = el('div', { class: 'card-toolbar', role: 'toolbar', 'aria-label': 'Image actions' });
  for (const action of toolbarActions(image)) {
    const button = el('button', { type: 'button', class: 'icon-button', 'data-action': action.action, title: action.label, 'aria-label': action.label, disabled: action.disabled }, codicon(action.icon));
    button.addEventListener('click', (event) => {
      event.stopPropagation();
      handlers.run(image, action.action);
    });
    toolbar.append(button);
  }
  const more = el('button', { type: 'button', class: 'icon-button', 'data-action': 'more', title: 'More actions…', 'aria-label': 'More actions…', 'aria-haspopup': 'menu' }, codicon('ellipsis'));
  more.addEventListener('click', (event) => {
    event.stopPropagation();
    openContextMenu(card, more);
  });
  toolbar.append(more);
  const marks = el('div', { class: 'marks' });
  if (legibility) {
    const badge = legibilityBadge(legibility);
    marks.append(el('span', { class: badge.exact ? 'badge legibility exact' : 'badge legibility', title: badge.title, 'aria-label': badge.label, role: 'img' }, badge.text));
  }
  if (losing) marks.append(el('span', { class: 'badge candidate-tag', title: 'A candidate that lost to the chosen image of its job' }, 'candidate'));
  card.append(
    el('div', { class: 'thumb-box' }, el('img', { class: 'thumb', src: image.thumbnailUri, alt: '', loading: 'lazy', draggable: 'false' }), toolbar, ...(marks.childElementCount > 0 ? [marks] : [])),
    el('div', { class: 'caption' }, caption),
    el('div', { class: 'details' }, imageDetails(image)),
  );
  const provenance = provenanceText(image);
  if (provenance) card.append(el('div', { class: 'provenance', title: image.source?.image ?? provenance }, codicon('file-symlink-file'), ` ${provenance}`));
  card.addEventListener('click', () => handlers.select(image));
  card.addEventListener('dblclick', () => handlers.run(image, 'open'));
  card.addEventListener('dragstart', (event) => {
    const data = event.dataTransfer;
    if (!data) return;
    // Only the card's own type: no file URI, so the workbench does not offer to open the file
    // instead, and the editor's drop goes to Letterpress's drop provider, which inserts the
    // reference Insert writes (Markdown ![prompt](path), HTML <img>, …) where it lands.
    data.setData(galleryImageDragMime, image.id);
    data.effectAllowed = 'copy';
  });
  card.addEventListener('keydown', (event) => {
    if (event.target !== card) return;
    const plain = !event.ctrlKey && !event.metaKey && !event.altKey;
    if (event.key === 'Enter') handlers.run(image, 'open');
    else if (event.key === ' ' && plain) handlers.select(image);
    else if (event.key === 'Delete') handlers.run(image, 'delete');
    else if ((event.key === 'e' || event.key === 'E') && plain) handlers.run(image, 'export');
    else if (event.key === 'ContextMenu' || (event.key === 'F10' && event.shiftKey)) openContextMenu(card);
    else if (event.key.startsWith('Arrow')) moveFocus(card, event.key);
    else return;
    event.preventDefault();
  });
  return card;
}

/** Arrow keys move between cards: left/right along the list, up/down to the nearest card a row away. */
function moveFocus(card: HTMLElement, key: string): void {
  let target: Element | null = null;
  if (key === 'ArrowRight') target = card.nextElementSibling;
  else if (key === 'ArrowLeft') target = card.previousElementSibling;
  else {
    const from = card.getBoundingClientRect();
    const cards = [...(card.parentElement?.children ?? [])].filter((c) => c !== card);
    const rows = cards.filter((c) => (key === 'ArrowDown' ? c.getBoundingClientRect().top > from.top + 1 : c.getBoundingClientRect().top < from.top - 1));
    const rowTop = key === 'ArrowDown' ? Math.min(...rows.map((c) => c.getBoundingClientRect().top)) : Math.max(...rows.map((c) => c.getBoundingClientRect().top));
    const row = rows.filter((c) => Math.abs(c.getBoundingClientRect().top - rowTop) < 1);
    target = row.sort((a, b) => Math.abs(a.getBoundingClientRect().left - from.left) - Math.abs(b.getBoundingClientRect().left - from.left))[0] ?? null;
  }
  if (target instanceof HTMLElement) target.focus();
}

/** The grid: one card per visible image, rebuilt only when that image changed on disk. */
export class ImageCards {
  readonly grid = el('ul', { id: 'gallery', class: 'gallery', 'aria-label': 'Generated images' });
  private readonly cards = new Map<string, { key: string; card: HTMLLIElement }>();

  constructor(private readonly handlers: CardHandlers) {}

  render(visible: readonly GalleryImage[], selectedId: string | undefined): void {
    const ordered: HTMLLIElement[] = [];
    const seen = new Set<string>();
    for (const image of visible) {
      const key = JSON.stringify(image);
      let entry = this.cards.get(image.id);
      if (!entry || entry.key !== key) {
        const card = buildCard(image, this.handlers);
        // A focused card rebuilt for a new version keeps the keyboard focus.
        const hadFocus = entry !== undefined && entry.card.contains(document.activeElement);
        if (entry) entry.card.replaceWith(card);
        entry = { key, card };
        this.cards.set(image.id, entry);
        if (hadFocus) queueMicrotask(() => card.focus());
      }
      setAttr(entry.card, 'aria-current', image.id === selectedId ? 'true' : undefined);
      entry.card.classList.toggle('selected', image.id === selectedId);
      seen.add(image.id);
      ordered.push(entry.card);
    }
    for (const id of [...this.cards.keys()]) if (!seen.has(id)) this.cards.delete(id);
    placeInOrder(this.grid, ordered);
  }
}
