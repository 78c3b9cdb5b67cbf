// Bundles the benches for the device machine (scripts/device/prepare.sh): one CommonJS file each for
// Node 20, with onnxruntime-node left external (carried as its own package) and sharp replaced by a
// stub that throws (the benches never touch image files).
import * as esbuild from 'esbuild';

const outdir = process.argv[2];
if (!outdir) throw new Error('usage: node scripts/device/bundleBench.mjs <outdir>');
await esbuild.build({
  entryPoints: { runBench: 'bench/runBench.ts', benchChild: 'bench/benchChild.ts', providerAgreement: 'bench/providerAgreement.ts' },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  outdir,
  external: ['onnxruntime-node', 'onnxruntime-node/*'],
  alias: { sharp: './scripts/device/sharpStub.cjs' },
  logLevel: 'warning',
});
