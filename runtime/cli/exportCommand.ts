// `letterpress export --input <image> --preset icons|banners|transparent --out-dir <dir>`
import type { CropStrategy } from '../export/iconSet.ts';
import type { ExportPresetName } from '../export/exportPresets.ts';
import { ExportInputError, exportPresetNames, runExport } from '../export/exportPresets.ts';
import { FileExistsError } from '../files/newFiles.ts';
import { CliError } from './cliError.ts';
import { parseCliOptions } from './cliOptions.ts';

const help = `usage: letterpress export --input <image> --preset icons|banners|transparent --out-dir <dir> [options]

presets:
  icons        icon-16x16.png … icon-512x512.png and favicon.ico (16–256)
  banners      social-card-1200x630.png, banner-1500x500.png, leaderboard-728x90.png
  transparent  <name>-transparent.png: a flat background (same colour in all four corners) removed

options:
  --crop attention|centre   how non-matching shapes are cropped (icons: centre, banners: attention)
  --transparent             icons: remove a flat background first
  --tolerance <0-441>       colour distance still counted as background (default 40)

Existing files are never replaced: the export stops before writing anything.`;

export async function runExportCommand(args: string[]): Promise<void> {
  const values = parseCliOptions(
    args,
    {
      input: { type: 'string', short: 'i' },
      preset: { type: 'string', short: 'p' },
      'out-dir': { type: 'string', short: 'o' },
      crop: { type: 'string' },
      transparent: { type: 'boolean' },
      tolerance: { type: 'string' },
    },
    { usage: help },
  );
  if (!values) return;
  if (!values.input) throw new CliError('export needs --input <image file>');
  if (!values.preset) throw new CliError(`export needs --preset (${exportPresetNames.join(', ')})`);
  if (!(exportPresetNames as readonly string[]).includes(values.preset)) {
    throw new CliError(`unknown preset "${values.preset}": use one of ${exportPresetNames.join(', ')}`);
  }
  if (!values['out-dir']) throw new CliError('export needs --out-dir <folder> (created if missing)');
  if (values.crop !== undefined && values.crop !== 'attention' && values.crop !== 'centre') {
    throw new CliError(`--crop must be attention or centre, not "${values.crop}"`);
  }
  let tolerance: number | undefined;
  if (values.tolerance !== undefined) {
    tolerance = Number(values.tolerance);
    if (!Number.isFinite(tolerance) || tolerance < 0 || tolerance > 441) throw new CliError('--tolerance must be a number from 0 to 441');
  }
  try {
    const outcome = await runExport({
      preset: values.preset as ExportPresetName,
      input: values.input,
      outDir: values['out-dir'],
      crop: values.crop as CropStrategy | undefined,
      transparent: values.transparent,
      tolerance,
    });
    for (const note of outcome.notes) process.stdout.write(`note: ${note}\n`);
    for (const file of outcome.files) process.stdout.write(`${file.path} (${file.width}x${file.height})\n`);
  } catch (error) {
    if (error instanceof FileExistsError) {
      throw new CliError(`${error.message}\nnothing was written: choose another --out-dir or move those files away`);
    }
    if (error instanceof ExportInputError) throw new CliError(error.message);
    throw error;
  }
}
