// `letterpress convert --model <dir> [--fp16] [--component <name>]`: converts the model's
// safetensors to ONNX ahead of time (what the first generation would otherwise do) and prints where
// each graph went. Already-converted components come straight from the cache.
import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ModelFilesError } from '../onnx/componentSource.ts';
import { ensureConvertedComponent } from '../onnx/convertModel.ts';
import { UnsupportedModelError, type ComponentName } from '../onnx/modelArchitecture.ts';
import { SafetensorsError } from '../safetensors/safetensorsFile.ts';
import { CliError } from './cliError.ts';

const componentNames: ComponentName[] = ['text_encoder', 'unet', 'vae_decoder'];
const usage = `usage: letterpress convert --model <model folder> [--fp16] [--component ${componentNames.join('|')}]...`;

export async function runConvertCommand(args: string[]): Promise<void> {
  let values: { model?: string; fp16?: boolean; component?: string[]; help?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        model: { type: 'string', short: 'm' },
        fp16: { type: 'boolean' },
        component: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new CliError(`${(error as Error).message}\n${usage}`);
  }
  if (values.help) {
    process.stdout.write(
      `${usage}\nConverts the diffusers safetensors weights to ONNX graphs (float32, or float16 with --fp16),\n` +
        `cached in <model>/.letterpress/onnx, and prints one "component: path" line per graph.\n`,
    );
    return;
  }
  if (!values.model) throw new CliError(`convert needs --model <model folder>\n${usage}`);
  const isFolder = await stat(values.model).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isFolder) throw new CliError(`model folder not found: ${values.model}`);
  const components = (values.component ?? componentNames).map((name) => {
    if (!componentNames.includes(name as ComponentName)) {
      throw new CliError(`unknown component "${name}" (choose from ${componentNames.join(', ')})`);
    }
    return name as ComponentName;
  });

  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  try {
    for (const component of components) {
      let lastPercent = -1;
      const result = await ensureConvertedComponent(values.model, component, {
        fp16: values.fp16 === true,
        signal: controller.signal,
        onProgress: (event) => {
          if (event.status !== 'convert' || !process.stderr.isTTY) return;
          const percent = Math.floor((100 * event.done) / Math.max(1, event.total));
          if (percent !== lastPercent) process.stderr.write(`\rconverting ${component}: ${percent}%`);
          lastPercent = percent;
          if (event.done === event.total) process.stderr.write('\n');
        },
      });
      for (const note of result.notes) process.stderr.write(`note: ${component}: ${note}\n`);
      process.stdout.write(`${component}: ${result.onnxPath}${result.fromCache ? ' (already converted)' : ''}\n`);
    }
  } catch (error) {
    if (error instanceof ModelFilesError || error instanceof UnsupportedModelError || error instanceof SafetensorsError) {
      throw new CliError(error.message);
    }
    if (error instanceof Error && error.name === 'AbortError') throw new CliError('conversion cancelled', 130);
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
  }
}
