// Three bundles, one per process: the extension host (cjs, `vscode` provided by the editor),
// the runtime child process and CLI (native modules stay external so their .node binaries load
// from node_modules), and the webview (browser).
import { copyFileSync, mkdirSync } from 'node:fs';
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const nativeModules = ['onnxruntime-node', 'sharp', 'tesseract.js', '@tesseract.js-data/eng'];

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
    entryPoints: { runtime: 'runtime/process/runtimeMain.ts', cli: 'runtime/cli/cliMain.ts' },
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outdir: 'dist',
    external: nativeModules,
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
  await Promise.all(targets.map((t) => esbuild.build(t)));
}
