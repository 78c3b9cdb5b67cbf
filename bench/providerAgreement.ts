// `npm run bench:agreement -- --device webgpu`: runs the diffusers reference cases
// (test/fixtures/reference/pipeline-cases.json, tiny model) on any execution provider and prints each
// case's largest and mean pixel error against diffusers. The CPU provider is held to the fixtures'
// tolerances by `npm test`; GPU providers cannot run in CI, so this is how a GPU machine is checked.
// `--batch-size N` denoises each case's latents N times in one UNet batch (every copy must still
// match), which checks batched runs on a GPU provider: `npm run bench:agreement -- --device cuda --batch-size 4`.
// `--graph a,b` runs the cases on each graph of bench/graphVariants.ts; `--json <file>` writes the rows;
// `--fixtures <folder>` reads the fixtures from elsewhere than test/fixtures (the device script's copy).
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { deviceSettings, type DeviceSetting } from '../runtime/protocol/generationTypes.ts';
import { ImageGenerator } from '../runtime/pipeline/imageGenerator.ts';
import { openSafetensors } from '../runtime/safetensors/safetensorsFile.ts';
import { caseRequest, loadPipelineCases, repeatedTensor } from '../test/pipelineCases.ts';
import { generatorOptionsForGraph, parseGraphVariants } from './graphVariants.ts';

const { values } = parseArgs({
  options: {
    device: { type: 'string', default: 'cpu' },
    fp16: { type: 'boolean', default: false },
    'batch-size': { type: 'string', default: '1' },
    graph: { type: 'string', default: 'default' },
    fixtures: { type: 'string', default: 'test/fixtures' },
    json: { type: 'string' },
  },
});
const graphs = parseGraphVariants(values.graph);
const device = values.device as DeviceSetting;
if (!deviceSettings.includes(device)) throw new Error(`--device must be one of ${deviceSettings.join(', ')}`);
const batchSize = Number(values['batch-size']);
if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 64) throw new Error(`--batch-size must be a whole number from 1 to 64, got ${values['batch-size']}`);

async function main(): Promise<void> {
  const fixtures = resolve(values.fixtures);
  const referenceDir = join(fixtures, 'reference');
  const cases = loadPipelineCases(referenceDir);
  const reference = await openSafetensors(join(referenceDir, 'pipeline.safetensors'));
  const rows = [['case', 'provider', 'graph', 'fp16', 'batch', 'max |error|', 'mean |error|', 'ms']];
  const records: Record<string, unknown>[] = [];
  // Each graph through one generator of its own (its sessions stay loaded across the cases).
  const generators = graphs.map((graph) => ({ graph, generator: new ImageGenerator({ idleUnloadMs: 60_000, ...generatorOptionsForGraph(graph) }) }));
  try {
    for (const { graph, generator } of generators) {
      for (const c of cases) {
        const latents = await repeatedTensor(reference, `${c.key}.latents`, batchSize);
        const expected = await reference.readFloat32(`${c.key}.image`);
        const t0 = performance.now();
        const result = await generator.generate({ ...caseRequest(c, join(fixtures, 'tiny-sd2'), device, batchSize), fp16: values.fp16 }, { latents });
        const ms = performance.now() - t0;
        // The worst image of the batch.
        let max = 0;
        let mean = 0;
        for (const { pixels } of result.images) {
          let sum = 0;
          for (let i = 0; i < expected.length; i++) {
            const e = Math.abs(pixels[i] - expected[i]);
            sum += e;
            if (e > max) max = e;
          }
          mean = Math.max(mean, sum / expected.length);
        }
        rows.push([c.key, result.provider, graph, String(values.fp16), String(result.batchSize), max.toExponential(2), mean.toExponential(2), ms.toFixed(0)]);
        records.push({ case: c.key, scheduler: c.scheduler, provider: result.provider, graph, fp16: values.fp16, batch: result.batchSize, maxAbsError: max, meanAbsError: mean, ms });
      }
    }
  } finally {
    await Promise.all(generators.map(({ generator }) => generator.dispose()));
    await reference.close();
    if (values.json) writeFileSync(values.json, `${JSON.stringify({ device, fp16: values.fp16, tolerance: { max: 2e-3, mean: 2e-4 }, rows: records }, null, 2)}\n`);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((cell, i) => cell.padEnd(widths[i])).join('  '));
  console.log('fixtures tolerance (float32): max 2e-3, mean 2e-4');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
