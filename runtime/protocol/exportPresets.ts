// The export presets as the host, the CLI and the runtime name them: one table, one entry per preset
// (what `letterpress export --help` says, what the editor's quick pick offers). The files each preset
// makes are the runtime's (runtime/export/exportRenderers.ts, keyed by these names), so a new preset
// is one entry here and one renderer there. Imports nothing: the host reads it without loading sharp.

export interface ExportChoiceInfo {
  /** The quick pick's label. */
  label: string;
  detail: string;
  /** Remove a flat background first (presets that take the option). */
  transparent?: boolean;
  /** How many colours the tracer may use (presets that take the option). */
  colours?: number;
}

export interface ExportPresetInfo {
  /** One line of `letterpress export --help`. */
  summary: string;
  /** What the editor offers for this preset, in the order shown. */
  choices: readonly ExportChoiceInfo[];
  /** The preset takes `transparent` (remove a flat background first, keep the image when there is none). */
  takesTransparent?: boolean;
  /** The preset takes `colours` (limits.exportColours). */
  takesColours?: boolean;
}

export const exportPresets = {
  icons: {
    summary: 'icon-16x16.png … icon-512x512.png and favicon.ico (16–256)',
    takesTransparent: true,
    choices: [
      { label: 'Icon set + favicon.ico', detail: 'Square PNGs 16–512 px and a favicon.ico with the sizes up to 256' },
      {
        label: 'Icon set, transparent background',
        detail: 'The same, with a flat background made transparent (flood fill from the corners)',
        transparent: true,
      },
    ],
  },
  banners: {
    summary: 'social-card-1200x630.png, banner-1500x500.png, leaderboard-728x90.png',
    choices: [{ label: 'Social banners (1200×630, 1500×500, 728×90)', detail: 'Crops around the most interesting part of the image' }],
  },
  transparent: {
    summary: '<name>-transparent.png: a flat background (same colour in all four corners) removed',
    choices: [{ label: 'Transparent PNG', detail: 'The image with its flat background removed' }],
  },
  svg: {
    summary: '<name>.svg: traced into vector shapes (--colours, default 8); text Letterpress drew stays real text',
    takesColours: true,
    choices: [
      { label: 'SVG (traced), 2 colours', detail: 'A logo or icon: ink and ground as vector shapes; drawn text kept as real text', colours: 2 },
      { label: 'SVG (traced), 8 colours', detail: 'Vector shapes in up to 8 colours; drawn text kept as real text', colours: 8 },
      { label: 'SVG (traced), 16 colours', detail: 'More detail, larger file', colours: 16 },
    ],
  },
} as const satisfies Record<string, ExportPresetInfo>;

export type ExportPresetName = keyof typeof exportPresets;
export const exportPresetNames = Object.keys(exportPresets) as ExportPresetName[];

/** How a shape that does not match the image's is cut: around the most interesting part, or from the centre. */
export const cropStrategies = ['attention', 'centre'] as const;
export type CropStrategy = (typeof cropStrategies)[number];

/** One entry of the editor's quick pick: a preset with its options. */
export interface ExportChoice extends ExportChoiceInfo {
  preset: ExportPresetName;
}

/** Every preset's choices, in the table's order. */
export const exportChoices: readonly ExportChoice[] = exportPresetNames.flatMap((preset) =>
  (exportPresets[preset].choices as readonly ExportChoiceInfo[]).map((choice) => ({ ...choice, preset })),
);
