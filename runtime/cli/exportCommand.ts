// `letterpress export --input <image> --preset <name> --out-dir <dir>`: the runtime's
// runtime/image/export job (runExportImageJob) from the command line, into the folder the user names.
import { resolve } from 'node:path';
import { realPathAllowingMissing } from '../files/realPaths.ts';
import { runExportImageJob } from '../jobs/exportImageJob.ts';
import { cropStrategies, exportPresetNames, exportPresets, type CropStrategy, type ExportPresetName } from '../protocol/exportPresets.ts';
import { limits } from '../protocol/limits.ts';
import { formatProblem, validateParams } from '../protocol/paramsValidation.ts';
import { exportImageRequest, RuntimeError, type ExportImageParams } from '../protocol/runtimeProtocol.ts';
import { CliError } from './cliError.ts';
import { parseCliOptions } from './cliOptions.ts';

const presetLines = exportPresetNames.map((name) => `  ${name.padEnd(12)} ${exportPresets[name].summary}`).join('\n');
const transparentPresets = exportPresetNames.filter((name) => (exportPresets[name] as { takesTransparent?: boolean }).takesTransparent);
const colourPresets = exportPresetNames.filter((name) => (exportPresets[name] as { takesColours?: boolean }).takesColours);

const help = `usage: letterpress export --input <image> --preset ${exportPresetNames.join('|')} --out-dir <dir> [options]

presets:
${presetLines}

options:
  --crop ${cropStrategies.join('|')}   how non-matching shapes are cropped (icons: centre, banners: attention)
  --transparent             ${transparentPresets.join(', ')}: remove a flat background first
  --tolerance <${limits.exportTolerance.min}-${limits.exportTolerance.max}>       colour distance still counted as background (default 40)
  --colours <${limits.exportColours.min}-${limits.exportColours.max}>          ${colourPresets.join(', ')}: the most colours the tracing may use (default ${limits.exportColoursDefault})

--out-dir is made when missing. Existing files are never replaced: the export stops before writing anything.`;

/** The CLI flag behind each field of ExportImageParams, for the validator's messages. */
const exportFlags: Record<string, string> = { input: '--input', preset: '--preset', outputDir: '--out-dir', crop: '--crop', transparent: '--transparent', tolerance: '--tolerance', colours: '--colours' };

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
      colours: { type: 'string' },
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
  if (values.crop !== undefined && !(cropStrategies as readonly string[]).includes(values.crop)) {
    throw new CliError(`--crop must be ${cropStrategies.join(' or ')}, not "${values.crop}"`);
  }
  const numberOf = (text: string | undefined) => (text === undefined ? undefined : text.trim() === '' ? Number.NaN : Number(text));
  const tolerance = numberOf(values.tolerance);
  const colours = numberOf(values.colours);
  // The runtime's request, checked by the same validator as the host's; the folder as it really is
  // (links followed), which the job checks again before it writes.
  const params: ExportImageParams = {
    jobId: 'cli',
    preset: values.preset as ExportPresetName,
    input: resolve(values.input),
    outputDir: await realPathAllowingMissing(resolve(values['out-dir'])),
    ...(values.crop !== undefined ? { crop: values.crop as CropStrategy } : {}),
    ...(values.transparent ? { transparent: true } : {}),
    ...(tolerance !== undefined ? { tolerance } : {}),
    ...(colours !== undefined ? { colours } : {}),
  };
  const problem = validateParams(exportImageRequest.validate, params);
  if (problem) {
    const flag = exportFlags[problem.path.join('.')] ?? problem.path.join('.');
    throw new CliError(formatProblem(problem, () => flag));
  }
  try {
    const outcome = await runExportImageJob(params, { signal: new AbortController().signal, onProgress: () => {} });
    for (const note of outcome.notes) process.stdout.write(`note: ${note}\n`);
    for (const file of outcome.files) process.stdout.write(`${file.path} (${file.width}x${file.height})\n`);
  } catch (error) {
    if (error instanceof RuntimeError && error.code === 'userError') {
      const hint = /already exist/.test(error.message) ? ': choose another --out-dir or move those files away' : '';
      throw new CliError(`${error.message}${hint}`);
    }
    throw error;
  }
}
