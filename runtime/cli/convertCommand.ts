// `letterpress convert --model <dir|repo id> [--device <d>] [--fp16] [--graph plain|fused]
// [--component <name>] [--op-counts]`: converts the model's safetensors to ONNX ahead of time (what the
// first generation would otherwise do) and prints where each graph went. Already-converted components
// come straight from the cache.
import { readFile } from 'node:fs/promises';
import { env as ortEnv } from 'onnxruntime-node';
import { deviceSettings, type DeviceSetting } from '../protocol/generationTypes.ts';
import { findComponentFiles, ModelFilesError } from '../onnx/componentSource.ts';
import { ensureConvertedComponent } from '../onnx/convertModel.ts';
import { countOpTypes, graphVariants, type GraphVariant } from '../onnx/graphFusions.ts';
import { decodeModel } from '../onnx/onnxSchema.ts';
import { UnsupportedModelError, type ComponentName } from '../onnx/modelArchitecture.ts';
import { chooseExecutionProvider, probeProvider, providerDisplayName, type ExecutionProviderName } from '../pipeline/executionProvider.ts';
import { readLatentSpace } from '../pipeline/modelFolder.ts';
import { conversionOptionsFor, graphVariantFor, usesFloat16Graphs } from '../pipeline/providerTuning.ts';
import { SafetensorsError } from '../safetensors/safetensorsFile.ts';
import { CliError } from './cliError.ts';
import { resolveCliModel } from './cliModel.ts';
import { parseCliOptions } from './cliOptions.ts';

// The VAE encoder last: only image-to-image and inpainting load it.
const componentNames: ComponentName[] = ['text_encoder', 'unet', 'vae_decoder', 'vae_encoder'];
const usage =
  `usage: letterpress convert --model <model folder or hub repo id> [--device ${deviceSettings.join('|')}] [--fp16]\n` +
  `                          [--graph ${graphVariants.join('|')}] [--component ${componentNames.join('|')}]... [--op-counts]`;

/**
 * The provider generation will run on: an explicit device as is (so graphs can be prepared for a
 * device this machine lacks), `auto` as the pipeline picks it, by trying each provider in its order.
 */
async function providerFor(device: DeviceSetting): Promise<{ provider: ExecutionProviderName; note?: string }> {
  if (device !== 'auto') return { provider: device };
  ortEnv.logLevel = 'fatal';
  const choice = await chooseExecutionProvider('auto', probeProvider);
  return { provider: choice.provider, note: `converting for ${providerDisplayName(choice.provider)}, which --device auto picks on this machine` };
}

export async function runConvertCommand(args: string[]): Promise<void> {
  const values = parseCliOptions(
    args,
    {
      model: { type: 'string', short: 'm' },
      device: { type: 'string' },
      fp16: { type: 'boolean' },
      component: { type: 'string', multiple: true },
      graph: { type: 'string' },
      'op-counts': { type: 'boolean' },
    },
    {
      usage,
      help:
        `${usage}\nConverts the diffusers safetensors weights to the ONNX graphs \`letterpress generate --device <d>\` loads\n` +
        `(float32, or float16 with --fp16 on a GPU provider; CUDA, DirectML and WebGPU get the fused UNet graph\n` +
        `(onnxruntime contrib kernels), the CPU and CoreML the plain one; --graph picks the other),\n` +
        `cached in Letterpress's cache (LETTERPRESS_CACHE, else ~/.cache/letterpress; see \`letterpress cache ls\`),\n` +
        `and prints one "component: path" line per graph (with --op-counts, a line of its nodes by op type\n` +
        `after each). --device defaults to\n` +
        `auto: the provider generation would pick on this machine.`,
    },
  );
  if (!values) return;
  if (!values.model) throw new CliError(`convert needs --model <model folder or hub repo id>\n${usage}`);
  const device = (values.device ?? 'auto') as DeviceSetting;
  if (!deviceSettings.includes(device)) {
    throw new CliError(`unknown device "${values.device}"; valid devices: ${deviceSettings.join(', ')}`);
  }
  if (values.graph !== undefined && !graphVariants.includes(values.graph as GraphVariant)) {
    throw new CliError(`unknown graph "${values.graph}"; valid graphs: ${graphVariants.join(', ')}`);
  }
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
    const modelDir = await resolveCliModel(values.model, controller.signal);
    // A folder that cannot be converted is reported before any provider is probed.
    for (const component of components) await findComponentFiles(modelDir, component);
    const { provider, note } = await providerFor(device);
    if (note) process.stderr.write(`${note}\n`);
    const fp16 = usesFloat16Graphs(provider, values.fp16 === true);
    if (values.fp16 && !fp16) {
      process.stderr.write('note: generation runs float32 graphs on the CPU whatever --fp16 says, so these are float32\n');
    }
    // As generation does: a VAE whose config says force_upcast stays float32 under --fp16.
    const vaeForceUpcast = components.some((c) => c === 'vae_decoder' || c === 'vae_encoder') ? (await readLatentSpace(modelDir)).forceUpcast : undefined;
    for (const component of components) {
      let lastPercent = -1;
      const result = await ensureConvertedComponent(modelDir, component, {
        ...conversionOptionsFor(provider, component, fp16, { vaeForceUpcast }, (values.graph as GraphVariant | undefined) ?? graphVariantFor(provider)),
        provider,
        signal: controller.signal,
        onProgress: (event) => {
          if (event.status !== 'convert' || !process.stderr.isTTY) return;
          const percent = Math.floor((100 * event.done) / Math.max(1, event.total));
          if (percent !== lastPercent) process.stderr.write(`\rconverting ${component}: ${percent}%`);
          lastPercent = percent;
          if (event.done === event.total) process.stderr.write('\n');
        },
      });
      for (const n of result.notes) process.stderr.write(`note: ${component}: ${n}\n`);
      process.stdout.write(`${component}: ${result.onnxPath}${result.fromCache ? ' (already converted)' : ''}\n`);
      if (values['op-counts']) {
        const counts = countOpTypes(decodeModel(await readFile(result.onnxPath)).graph.node);
        const total = [...counts.values()].reduce((a, b) => a + b, 0);
        process.stdout.write(`  ${total} nodes: ${[...counts].map(([op, n]) => `${op} ${n}`).join(', ')}\n`);
      }
    }
    if (device !== 'auto') process.stderr.write(`converted for ${providerDisplayName(provider)}\n`);
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
