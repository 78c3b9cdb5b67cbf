// Three bundles, one per process: the extension host (cjs, `vscode` provided by the editor),
// the runtime child process and CLI (native modules stay external so their .node binaries load
// from node_modules), and the webview (browser); plus the scripts worker threads load by path.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
// Packages that load files by path at run time stay external and ship as files (scripts/package.mjs):
// ONNX Runtime and sharp (native binaries), tesseract.js-core (its WebAssembly, found beside its
// glue script) and the English OCR data (found with require.resolve). tesseract.js itself is bundled.
const nativeModules = ['onnxruntime-node', 'sharp', 'tesseract.js-core', '@tesseract.js-data/eng'];

// tesseract.js falls back to node-fetch when there is no global fetch; Node 20+ always has one, and
// node-fetch would bring whatwg-url and its tables into the bundle.
const globalFetch = {
  name: 'global-fetch',
  setup(build) {
    build.onResolve({ filter: /^node-fetch$/ }, () => ({ path: 'node-fetch', namespace: 'global-fetch' }));
    build.onLoad({ filter: /.*/, namespace: 'global-fetch' }, () => ({ contents: 'module.exports = globalThis.fetch;', loader: 'js' }));
  },
};

const common = {
  bundle: true,
  sourcemap: !production,
  minify: production,
  logLevel: 'info',
};

const targets = [
  {
    ...common,
    // The gallery's PNG metadata worker is a script of its own: a worker thread loads it by path.
    entryPoints: { extension: 'extension/extension.ts', pngMetadataWorker: 'extension/gallery/pngMetadataWorker.ts' },
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outdir: 'dist',
    external: ['vscode', ...nativeModules],
  },
  {
    ...common,
    // tesseractWorker: tesseract.js starts its OCR worker thread from a script path
    // (runtime/legibility/ocrReader.ts passes this one when it sits beside the running bundle).
    entryPoints: {
      runtime: 'runtime/process/runtimeMain.ts',
      cli: 'runtime/cli/cliMain.ts',
      tesseractWorker: 'node_modules/tesseract.js/src/worker-script/node/index.js',
    },
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outdir: 'dist',
    external: nativeModules,
    plugins: [globalFetch],
    banner: { js: '' },
  },
  {
    ...common,
    entryPoints: { webview: 'webview/main.ts' },
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    outdir: 'dist',
  },
];

// The codicon font and its stylesheet, as @vscode/codicons ships them, for the webview's icons
// (served from dist/ under the panel's CSP: style-src and font-src are the webview's own origin).
mkdirSync('dist/codicons', { recursive: true });
for (const file of ['codicon.css', 'codicon.ttf']) copyFileSync(`node_modules/@vscode/codicons/dist/${file}`, `dist/codicons/${file}`);

if (watch) {
  const contexts = await Promise.all(targets.map((t) => esbuild.context(t)));
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  const results = await Promise.all(targets.map((t) => esbuild.build({ ...t, metafile: true })));
  // The packages bundled into the scripts: scripts/package.mjs writes their licences into the .vsix.
  const bundled = new Set();
  for (const { metafile } of results) {
    for (const input of Object.keys(metafile.inputs)) {
      const match = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
      if (match) bundled.add(match[1]);
    }
  }
  writeFileSync('dist/bundledPackages.json', `${JSON.stringify([...bundled].sort(), null, 2)}\n`);
}
