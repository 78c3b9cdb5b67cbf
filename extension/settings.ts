// The extension's settings (package.json `contributes.configuration`), read in one place.
import * as vscode from 'vscode';
import {
  deviceSettings,
  schedulerNames,
  textPositions,
  type DeviceSetting,
  type SchedulerName,
  type TextPosition,
} from '../runtime/protocol/generationTypes.ts';
import { limits, type NumberLimit } from '../runtime/protocol/limits.ts';
import { defaultLayoutStrength, defaultTextLayoutMode, isTextLayoutMode, type TextLayoutMode } from '../runtime/protocol/layoutOptions.ts';

export const defaultOutputFolder = 'assets/generated';

export interface LetterpressSettings {
  /** Local model folder or hub repo id; empty for the default model. */
  model: string;
  outputFolder: string;
  steps: number;
  guidanceScale: number;
  /** Undefined: the scheduler the model's scheduler_config.json names. */
  scheduler?: SchedulerName;
  device: DeviceSetting;
  fp16: boolean;
  /** Fixed seed, or undefined for a new random one per image. */
  seed?: number;
  idleUnloadMs: number;
  codeLens: boolean;
  /** OCR-check images whose prompt quotes text. */
  checkText: boolean;
  /** Best-of-N count for quoted text; 0 = auto (decided by the runtime from the provider). */
  candidates: number;
  exactTextFallback: boolean;
  /** Undefined: where OCR found the text, else the centre. */
  exactTextPosition?: TextPosition;
  keepCandidates: boolean;
  /** Layout-first text: off, auto (when text-to-image does not spell it) or always. */
  textLayout: TextLayoutMode;
  /** Image-to-image strength of layout-first candidates. */
  textLayoutStrength: number;
}

export function readSettings(scope?: vscode.ConfigurationScope): LetterpressSettings {
  const config = vscode.workspace.getConfiguration('letterpress', scope);
  const scheduler = config.get<string>('scheduler', 'default');
  const device = config.get<string>('device', 'auto');
  const seed = config.get<number>('seed', -1);
  const position = config.get<string>('exactTextPosition', 'auto');
  const layout = config.get<string>('textLayout', defaultTextLayoutMode);
  // Restricted Mode: no custom output folder (VS Code also ignores workspace values of the
  // restricted settings, but a user-level value could still point anywhere inside the workspace).
  const outputFolder = vscode.workspace.isTrusted ? config.get<string>('outputFolder', defaultOutputFolder) : defaultOutputFolder;
  return {
    model: config.get<string>('model', '').trim(),
    outputFolder: outputFolder.trim() || defaultOutputFolder,
    steps: clampToLimit(config.get<number>('steps', 25), limits.steps),
    guidanceScale: clampToLimit(config.get<number>('guidanceScale', 7.5), limits.guidanceScale),
    scheduler: (schedulerNames as readonly string[]).includes(scheduler) ? (scheduler as SchedulerName) : undefined,
    device: (deviceSettings as readonly string[]).includes(device) ? (device as DeviceSetting) : 'auto',
    fp16: config.get<boolean>('fp16', true),
    // -1 (or anything outside the seed range) means a new random seed for every image.
    seed: Number.isInteger(seed) && seed >= limits.seed.min && seed <= limits.seed.max ? seed : undefined,
    idleUnloadMs: clampToLimit(config.get<number>('idleUnloadMinutes', 10), limits.idleUnloadMinutes) * 60_000,
    codeLens: config.get<boolean>('codeLens', true),
    checkText: config.get<boolean>('checkText', true),
    candidates: clampToLimit(config.get<number>('candidates', 0), limits.candidates),
    exactTextFallback: config.get<boolean>('exactTextFallback', false),
    exactTextPosition: (textPositions as readonly string[]).includes(position) ? (position as TextPosition) : undefined,
    keepCandidates: config.get<boolean>('keepCandidates', true),
    textLayout: isTextLayoutMode(layout) ? layout : defaultTextLayoutMode,
    textLayoutStrength: clampToLimit(config.get<number>('textLayoutStrength', defaultLayoutStrength), limits.layoutStrength),
  };
}

/** VS Code shows a setting outside package.json's minimum/maximum as a warning but still returns it. */
function clampToLimit(value: number, limit: NumberLimit): number {
  const n = Number.isFinite(value) ? value : limit.min;
  return Math.min(Math.max(limit.integer ? Math.round(n) : n, limit.min), limit.max);
}
