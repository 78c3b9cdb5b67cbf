// What a gallery card offers, free of the DOM: the few actions on its hover toolbar, and the
// context VS Code's own webview menu reads (package.json `contributes.menus["webview/context"]`
// matches on these keys; the commands receive the object and route it back to the panel).
import type { GalleryImage, ImageAction } from './protocol.ts';

/** A card action: one of the host's image actions, or a job the page builds from the image. */
export type CardAction = ImageAction | 'regenerate' | 'vary';

export interface ToolbarAction {
  action: CardAction;
  /** Codicon name. */
  icon: string;
  label: string;
  disabled: boolean;
}

/** Whether OCR checked the image's text and did not read it exactly: then "Fix text" is offered. */
export function textIsOff(image: GalleryImage): boolean {
  return image.legibility !== undefined && !image.legibility.exactMatch;
}

function hasPrompt(image: GalleryImage): boolean {
  return (image.settings?.prompt ?? '').trim() !== '';
}

/**
 * The toolbar: Insert, Open, Vary and Variations on every card, Fix text where the text came out wrong. The
 * rest (Regenerate, Copy path/prompt, Export, Reveal, Delete) is in the context menu.
 */
export function toolbarActions(image: GalleryImage): ToolbarAction[] {
  const actions: ToolbarAction[] = [
    { action: 'insertReference', icon: 'insert', label: 'Insert a reference at the cursor of the last editor', disabled: false },
    { action: 'open', icon: 'go-to-file', label: 'Open the image', disabled: false },
    { action: 'vary', icon: 'sparkle', label: 'Vary: the same settings with a new seed', disabled: !hasPrompt(image) },
    { action: 'variations', icon: 'layers', label: 'Variations…: new images from this one (image-to-image), at a strength you choose', disabled: !hasPrompt(image) },
  ];
  if (textIsOff(image)) actions.push({ action: 'drawText', icon: 'whole-word', label: 'Fix text: draw the exact text over the image as a new file', disabled: false });
  return actions;
}

/** Where an image came from: "from sign.png, strength 0.6"; undefined for one made from the prompt alone. */
export function provenanceText(image: GalleryImage): string | undefined {
  const source = image.source;
  if (!source) return undefined;
  const strength = `strength ${Number(source.strength.toFixed(2))}`;
  if (source.mode === 'layout') return `from a layout of the text, ${strength}`;
  if (source.image === undefined) return source.mode === 'inpaint' ? `text region repainted, ${strength}` : `from an image made in memory, ${strength}`;
  const name = source.image.split('/').pop() || source.image;
  const region = source.mode === 'inpaint' ? (source.mask === 'box' ? ', a rectangle repainted' : ', masked region repainted') : '';
  return `from ${name}${region}, ${strength}`;
}

/** The `webview/context` menu's section for a card. */
export const imageMenuSection = 'letterpressImage';

/** `data-vscode-context` of a card: the keys the menu's `when` clauses read and the command receives. */
export interface ImageMenuContext {
  webviewSection: typeof imageMenuSection;
  /** Gallery id of the image (workspace-relative path). */
  letterpressImageId: string;
  letterpressHasPrompt: boolean;
  letterpressTextOff: boolean;
  /** Only Letterpress's items (no Cut/Copy/Paste, which mean nothing on an image card). */
  preventDefaultContextMenuItems: true;
}

export function imageMenuContext(image: GalleryImage): ImageMenuContext {
  return {
    webviewSection: imageMenuSection,
    letterpressImageId: image.id,
    letterpressHasPrompt: hasPrompt(image),
    letterpressTextOff: textIsOff(image),
    preventDefaultContextMenuItems: true,
  };
}

/** Keys a focused card answers to (also its aria-keyshortcuts). */
export const cardKeys = 'Enter Space Delete E ContextMenu';
