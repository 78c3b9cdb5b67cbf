// Asking for an image-to-image strength, the same way for Generate from Image… and a gallery card's
// Variations…: a number within the limits table, with what it means said in the box.
import * as vscode from 'vscode';
import { describeLimit, limits, withinLimit } from '../../runtime/protocol/limits.ts';


/** The typed strength's problem, or undefined when it is one (0 repaints nothing, so it is refused). */
export function checkTypedStrength(typed: string): string | undefined {
  const value = Number(typed.trim());
  if (typed.trim() === '' || !withinLimit(limits.strength, value)) return `Type ${describeLimit(limits.strength)}, e.g. 0.6.`;
  if (value === 0) return 'A strength of 0 repaints nothing: type more than 0.';
  return undefined;
}

/** The strength the user typed, or undefined when dismissed. */
export async function askStrength(title: string, value: number): Promise<number | undefined> {
  const typed = await vscode.window.showInputBox({
    title,
    prompt: 'Strength: how much of the image is repainted (0.3 stays close to it, 0.8 keeps little more than its layout and colours)',
    value: String(value),
    ignoreFocusOut: true,
    validateInput: checkTypedStrength,
  });
  if (typed === undefined || checkTypedStrength(typed) !== undefined) return undefined;
  return Number(typed.trim());
}
