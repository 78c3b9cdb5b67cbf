// Layout-first text, as the host, the webview, the CLI and the runtime name it. No drawing code here,
// so the host can import it without loading sharp.

/**
 * `off`: text-to-image only. `auto`: text-to-image candidates first, layout-first ones when none reads
 * exactly. `always`: layout-first candidates only.
 */
export const textLayoutModes = ['off', 'auto', 'always'] as const;
export type TextLayoutMode = (typeof textLayoutModes)[number];
export const defaultTextLayoutMode: TextLayoutMode = 'auto';

/**
 * How much image-to-image may change the layout picture (limits.layoutStrength bounds it): at 0.7 the model keeps the letters' shapes
 * and places but repaints their style and the ground; much lower leaves a flat drawing, much higher
 * forgets the letters (issue 12; `npm run bench:text` sweeps 0.4–0.9 on a real model).
 */
export const defaultLayoutStrength = 0.7;

export function isTextLayoutMode(value: unknown): value is TextLayoutMode {
  return typeof value === 'string' && (textLayoutModes as readonly string[]).includes(value);
}
