// Builds a per-platform .vsix: `npm run package [-- --target linux-x64] [--out file.vsix]`.
// The bundles are built for production, then staged with only the native packages the runtime
// loads at run time (onnxruntime-node, sharp and their dependencies), pruned to the target's
// binaries. They sit in dist/node_modules, where Node's resolution from dist/runtime.js finds them.
import { spawnSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const { values } = parseArgs({
  options: {
    target: { type: 'string' },
    out: { type: 'string' },
    'skip-build': { type: 'boolean', default: false },
  },
});

const vsceTargets = ['win32-x64', 'win32-arm64', 'linux-x64', 'linux-arm64', 'linux-armhf', 'alpine-x64', 'alpine-arm64', 'darwin-x64', 'darwin-arm64'];
const target = values.target ?? `${process.platform}-${process.arch}`;
if (!vsceTargets.includes(target)) {
  console.error(`package: unknown target "${target}"; use one of ${vsceTargets.join(', ')}`);
  process.exit(2);
}
const [targetOs, targetCpuRaw] = target.split('-');
const os = targetOs === 'alpine' ? 'linux' : targetOs;
const cpu = targetCpuRaw === 'armhf' ? 'arm' : targetCpuRaw;
const libc = targetOs === 'alpine' ? 'musl' : os === 'linux' ? 'glibc' : undefined;

// Dependencies a package declares for its installer only; nothing requires them at run time.
const installOnly = { 'onnxruntime-node': ['adm-zip', 'global-agent'] };

function run(command, args, cwd = root) {
  const result = spawnSync(command, args, { cwd, stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed with exit code ${result.status}`);
}

function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** Does a package's os/cpu/libc (package.json fields) allow the target? */
function fitsTarget(pkg) {
  const allows = (list, value) => !list || value === undefined || (list.some((v) => v.startsWith('!')) ? !list.includes(`!${value}`) : list.includes(value));
  return allows(pkg.os, os) && allows(pkg.cpu, cpu) && allows(pkg.libc, libc);
}

/** Bare module names the bundles leave to `require` (the esbuild externals), except vscode and Node's own. */
function externalRequires(files) {
  const names = new Set();
  for (const file of files) {
    for (const match of readFileSync(file, 'utf8').matchAll(/require\(["']([^"'./][^"']*)["']\)/g)) {
      const spec = match[1];
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
      if (name === 'vscode' || name.startsWith('node:') || builtinModules.includes(name)) continue;
      names.add(name);
    }
  }
  return [...names].sort();
}

function copyPackageTree(names, destination) {
  const copied = new Map();
  const queue = [...names];
  while (queue.length > 0) {
    const name = queue.shift();
    if (copied.has(name)) continue;
    const source = join(root, 'node_modules', name);
    if (!existsSync(join(source, 'package.json'))) {
      copied.set(name, null);
      continue;
    }
    const pkg = readJson(join(source, 'package.json'));
    if (!fitsTarget(pkg)) {
      copied.set(name, null);
      continue;
    }
    const into = join(destination, name);
    cpSync(source, into, { recursive: true, dereference: true });
    copied.set(name, into);
    const skip = new Set(installOnly[name] ?? []);
    for (const dep of [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})]) {
      if (!skip.has(dep)) queue.push(dep);
    }
  }
  return [...copied.entries()].filter(([, into]) => into).map(([name]) => name);
}

function pruneOnnxRuntime(destination) {
  const binRoot = join(destination, 'onnxruntime-node', 'bin', 'napi-v6');
  if (!existsSync(binRoot)) return;
  for (const platform of readdirSync(binRoot)) {
    const platformDir = join(binRoot, platform);
    if (platform !== os) {
      rmSync(platformDir, { recursive: true, force: true });
      continue;
    }
    for (const arch of readdirSync(platformDir)) if (arch !== cpu) rmSync(join(platformDir, arch), { recursive: true, force: true });
  }
  rmSync(join(destination, 'onnxruntime-node', 'script'), { recursive: true, force: true });
}

// OCR (runtime/legibility/ocrReader.ts) runs in Node, which loads a core build's .js and .wasm
// files; the .wasm.js copies (the WebAssembly inlined as text, 22 MB) are for browsers. Which build
// loads depends on the CPU's SIMD support (and, in tesseract.js 7, never the -lstm ones, though it
// means to), so every build stays. Only the 4.0.0_best_int English data is read.
function pruneTesseract(destination) {
  const core = join(destination, 'tesseract.js-core');
  if (existsSync(core)) {
    for (const file of readdirSync(core)) if (file.endsWith('.wasm.js')) rmSync(join(core, file), { force: true });
  }
  const data = join(destination, '@tesseract.js-data', 'eng');
  if (existsSync(data)) {
    for (const entry of readdirSync(data)) {
      if (statSync(join(data, entry)).isDirectory() && entry !== '4.0.0_best_int') rmSync(join(data, entry), { recursive: true, force: true });
    }
  }
}

function folderSize(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, name) => sum + folderSize(join(path, name)), 0);
}

const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

if (!values['skip-build']) run(process.execPath, ['esbuild.mjs', '--production']);

const manifest = readJson(join(root, 'package.json'));
const stage = join(root, '.cache', 'package', target);
rmSync(stage, { recursive: true, force: true });
mkdirSync(join(stage, 'dist'), { recursive: true });

// The CLI (dist/cli.js) is published through npm's `bin`, not used by the extension.
const bundles = readdirSync(join(root, 'dist')).filter((f) => f.endsWith('.js') && f !== 'cli.js');
for (const file of bundles) cpSync(join(root, 'dist', file), join(stage, 'dist', file));
// The webview's icon font (esbuild.mjs copies it from @vscode/codicons).
cpSync(join(root, 'dist', 'codicons'), join(stage, 'dist', 'codicons'), { recursive: true });
for (const extra of ['README.md', 'LICENSE', 'CHANGELOG.md', 'media']) {
  if (existsSync(join(root, extra))) cpSync(join(root, extra), join(stage, extra), { recursive: true });
}
const { devDependencies: _dev, scripts: _scripts, bin: _bin, ...published } = manifest;
writeFileSync(join(stage, 'package.json'), `${JSON.stringify({ ...published, dependencies: {} }, null, 2)}\n`);
// media/ ships whole: the walkthrough's pages are Markdown.
writeFileSync(join(stage, '.vscodeignore'), '**/*.map\n**/*.d.ts\n**/*.md\n!README.md\n!media/**\n**/test/**\n');

const nodeModules = join(stage, 'dist', 'node_modules');
// The native packages always ship (the runtime may load them lazily); plus whatever else the bundles require.
const required = externalRequires(bundles.map((f) => join(root, 'dist', f)));
// ocrReader finds the language data with require.resolve, which the scan above does not see.
const ocrData = required.includes('tesseract.js') ? ['@tesseract.js-data/eng'] : [];
const externals = [...new Set(['onnxruntime-node', 'sharp', ...required, ...ocrData])];
const wanted = externals.filter((name) => existsSync(join(root, 'node_modules', name)));
const missing = externals.filter((name) => !wanted.includes(name));
if (missing.length) console.warn(`package: not installed, left out (the bundles require them lazily): ${missing.join(', ')}`);
const copied = copyPackageTree(wanted, nodeModules);
pruneOnnxRuntime(nodeModules);
pruneTesseract(nodeModules);
console.log(`package: ${target}: native packages ${copied.join(', ')} (${mb(folderSize(nodeModules))} unpacked)`);

const out = resolve(values.out ?? join(root, `letterpress-${target}-${manifest.version}.vsix`));
mkdirSync(dirname(out), { recursive: true });
const vsce = join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
run(process.execPath, [vsce, 'package', '--target', target, '--no-dependencies', '--skip-license', '--allow-missing-repository', '--out', out], stage);
console.log(`package: wrote ${out} (${mb(statSync(out).size)})`);
