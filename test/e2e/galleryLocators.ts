// The gallery webview's controls as e2e tests reach them, for every suite that drives the gallery.
import type { FrameLocator } from 'playwright-core';

/**
 * Locators over the gallery frame that `frame()` returns at the time of each call (suites reopen
 * the gallery, which gives a new frame).
 */
export function galleryLocators(frame: () => FrameLocator) {
  const card = (id: string) => frame().locator(`.card[data-id="${id}"]`);
  return {
    card,
    /** The native input inside a @vscode-elements text field or text area (Playwright reaches into open shadow roots). */
    field: (id: string) => frame().locator(`#${id} input, #${id} textarea`),
    /** Picks an option of a @vscode-elements single select: open it, click the option. */
    async choose(id: string, label: string): Promise<void> {
      await frame().locator(`#${id}`).click();
      await frame().locator(`#${id} li[role="option"]`, { hasText: label }).first().click();
    },
    /** Clicks a button of a card's hover toolbar, which shows while the pointer is over the card. */
    async toolbarClick(id: string, action: string): Promise<void> {
      await card(id).hover();
      await card(id).locator(`.card-toolbar button[data-action="${action}"]`).click();
    },
  };
}
