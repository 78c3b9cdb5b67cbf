// The extension's settings (package.json `contributes.configuration`), read in one place.
import * as vscode from 'vscode';
import { deviceSettings, schedulerNames, type DeviceSetting, type SchedulerName } from '../runtime/protocol/generationTypes.ts';
import type { TextPosition } from '../runtime/legibility/exactTextFallback.ts';
import { maxCandidates, textPositions } from '../runtime/legibility/legibilityLimits.ts';

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
}

export function readSettings(scope?: vscode.ConfigurationScope): LetterpressSettings {
  const config = vscode.workspace.getConfiguration('letterpress', scope);
  const scheduler = config.get<string>('scheduler', 'default');
  const device = config.get<string>('device', 'auto');
  const seed = config.get<number>('seed', -1);
  const position = config.get<string>('exactTextPosition', 'auto');
  // Restricted Mode: no custom output folder (VS Code also ignores workspace values of the
  // restricted settings, but a user-level value could still point anywhere inside the workspace).
  const outputFolder = vscode.workspace.isTrusted ? config.get<string>('outputFolder', defaultOutputFolder) : defaultOutputFolder;
  return {
    model: config.get<string>('model', '').trim(),
    outputFolder: outputFolder.trim() || defaultOutputFolder,
    steps: clampInteger(config.get<number>('steps', 25), 1, 150),
    guidanceScale: Math.min(Math.max(config.get<number>('guidanceScale', 7.5), 0), 30),
    scheduler: (schedulerNames as readonly string[]).includes(scheduler) ? (scheduler as SchedulerName) : undefined,
    device: (deviceSettings as readonly string[]).includes(device) ? (device as DeviceSetting) : 'auto',
    fp16: config.get<boolean>('fp16', true),
    seed: Number.isInteger(seed) && seed >= 0 ? seed : undefined,
    idleUnloadMs: Math.max(0, config.get<number>('idleUnloadMinutes', 10)) * 60_000,
    codeLens: config.get<boolean>('codeLens', true),
    checkText: config.get<boolean>('checkText', true),
    candidates: clampInteger(config.get<number>('candidates', 0), 0, maxCandidates),
    exactTextFallback: config.get<boolean>('exactTextFallback', false),
    exactTextPosition: (textPositions as readonly string[]).includes(position) ? (position as TextPosition) : undefined,
    keepCandidates: config.get<boolean>('keepCandidates', true),
  };
}

function clampInteger(value: number, min: number, max: number): number {
  return Math.min(Math.max(Math.round(value), min), max);
}
