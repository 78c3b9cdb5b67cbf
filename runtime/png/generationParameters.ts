// The "parameters" text that AUTOMATIC1111's web UI writes into its PNGs and that most Stable
// Diffusion tools (and their image browsers) read back:
//
//   a red sign that says OPEN
//   Negative prompt: blurry
//   Steps: 8, Sampler: DDIM, Schedule type: Automatic, CFG scale: 7.5, Seed: 42, Size: 512x512, Model: pbevan11/…
//
// Writing and reading follow A1111's own rules (modules/infotext_utils.py) so that it reads ours:
// a value holding a comma, a colon or a newline is written as a JSON string; the last line counts
// as the settings line only when it holds at least three "Key: value" pairs; every prompt line is
// trimmed. Prompts therefore round-trip up to whitespace at the ends of their lines.
//
// One departure: the "Negative prompt:" line is written even when empty (A1111 leaves it out), as
// ComfyUI's importer only takes files that have one; A1111 reads the empty line as "".

export interface GenerationParameters {
  prompt: string;
  /** Written as an empty "Negative prompt:" line when empty or absent. */
  negativePrompt?: string;
  steps: number;
  /** A1111's name of the sampler ("DDIM", "PLMS", "Euler a", "DPM++ 2M", …: runtime/png/a1111Samplers.ts). */
  sampler: string;
  /** A1111 1.9+'s "Schedule type" ("Automatic", "Karras", "Uniform", …); written right after the sampler. */
  scheduleType?: string;
  cfgScale: number;
  seed: number;
  width: number;
  height: number;
  /** Model id or folder the image came from. */
  model?: string;
  /** Further "Key: value" settings, written after the standard ones in insertion order. */
  extra?: Record<string, string>;
}

export interface ParsedGenerationParameters {
  prompt: string;
  negativePrompt: string;
  steps?: number;
  sampler?: string;
  /** Absent in infotexts older than A1111 1.9 (and Letterpress's own before it), which name the schedule in the sampler. */
  scheduleType?: string;
  cfgScale?: number;
  seed?: number;
  width?: number;
  height?: number;
  model?: string;
  /** Every setting of the last line by its key, unquoted (including the standard ones). */
  fields: Record<string, string>;
}

const negativePromptLabel = 'Negative prompt:';
const standardKeys = new Set(['Steps', 'Sampler', 'Schedule type', 'CFG scale', 'Seed', 'Size', 'Model']);

// A1111's settings pattern, with Python's Unicode \w spelled out for JavaScript.
const settingPattern = /\s*([\p{L}\p{N}_][\p{L}\p{N}_ \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)/gu;
const sizePattern = /^(\d+)x(\d+)$/;

function quoteValue(value: string): string {
  if (!value.includes(',') && !value.includes('\n') && !value.includes(':')) return value;
  return JSON.stringify(value);
}

function unquoteValue(value: string): string {
  if (value.length < 2 || !value.startsWith('"') || !value.endsWith('"')) return value;
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === 'string' ? parsed : value;
  } catch {
    return value;
  }
}

export function formatGenerationParameters(p: GenerationParameters): string {
  const settings: [string, string][] = [
    ['Steps', String(p.steps)],
    ['Sampler', p.sampler],
    ...(p.scheduleType ? [['Schedule type', p.scheduleType] as [string, string]] : []),
    ['CFG scale', String(p.cfgScale)],
    ['Seed', String(p.seed)],
    ['Size', `${p.width}x${p.height}`],
  ];
  if (p.model) settings.push(['Model', p.model]);
  for (const [key, value] of Object.entries(p.extra ?? {})) {
    if (standardKeys.has(key)) throw new RangeError(`extra setting "${key}" clashes with a standard one`);
    if (!/^[\p{L}\p{N}_][\p{L}\p{N}_ \-/]+$/u.test(key)) throw new RangeError(`invalid setting name "${key}"`);
    settings.push([key, value]);
  }
  const settingsLine = settings.map(([key, value]) => `${key}: ${quoteValue(value)}`).join(', ');
  // Not trimmed at the start: with an empty prompt the text still has "\nNegative prompt:", which is
  // what ComfyUI looks for.
  return `${p.prompt}\n${negativePromptLabel} ${p.negativePrompt ?? ''}\n${settingsLine}`;
}

function parseInteger(value: string | undefined): number | undefined {
  if (value === undefined || !/^-?\d+$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

function parseNumber(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value.trim());
  return Number.isFinite(n) ? n : undefined;
}

export function parseGenerationParameters(text: string): ParsedGenerationParameters {
  const lines = text.trim().split('\n');
  let settingsLine = lines.pop() ?? '';
  if ([...settingsLine.matchAll(settingPattern)].length < 3) {
    lines.push(settingsLine);
    settingsLine = '';
  }

  // Joined as A1111 joins them: no newline is added while the text so far is empty.
  const appendLine = (text: string, line: string): string => (text === '' ? line : `${text}\n${line}`);
  let prompt = '';
  let negativePrompt = '';
  let inNegative = false;
  for (let line of lines) {
    line = line.trim();
    if (line.startsWith(negativePromptLabel)) {
      inNegative = true;
      line = line.slice(negativePromptLabel.length).trim();
    }
    if (inNegative) negativePrompt = appendLine(negativePrompt, line);
    else prompt = appendLine(prompt, line);
  }

  const fields: Record<string, string> = {};
  for (const match of settingsLine.matchAll(settingPattern)) {
    fields[match[1]] = unquoteValue(match[2]);
  }
  const size = sizePattern.exec(fields['Size'] ?? '');

  return {
    prompt,
    negativePrompt,
    steps: parseInteger(fields['Steps']),
    sampler: fields['Sampler'],
    scheduleType: fields['Schedule type'],
    cfgScale: parseNumber(fields['CFG scale']),
    seed: parseInteger(fields['Seed']),
    width: size ? Number(size[1]) : undefined,
    height: size ? Number(size[2]) : undefined,
    model: fields['Model'],
    fields,
  };
}
