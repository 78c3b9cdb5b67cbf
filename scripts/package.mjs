// Builds a per-platform .vsix: `npm run package [-- --target linux-x64] [--out file.vsix]`.
// The bundles are built for production, then staged with only the native packages the runtime
// loads at run time (onnxruntime-node, sharp and their dependencies), pruned to the target's
// binaries. They sit in dist/node_modules, where Node's resolution from dist/runtime.js finds them.
import { spawnSync } from 'node:child_process';
import { builtinModules, createRequire } from 'node:module';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';

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

/**
 * Bare module names the bundles leave to `require` or `require.resolve` (the esbuild externals),
 * except vscode and Node's own. Only the manifest's `dependencies` count: a name in a string the
 * bundle never loads in production (the gallery's metadata worker registers tsx when it runs from
 * the sources) must not pull a development tool into the .vsix.
 */
function externalRequires(files, dependencies) {
  const names = new Set();
  for (const file of files) {
    for (const match of readFileSync(file, 'utf8').matchAll(/require(?:\.resolve)?\(["']([^"'./][^"']*)["']\)/g)) {
      const spec = match[1];
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
      if (name === 'vscode' || name.startsWith('node:') || builtinModules.includes(name)) continue;
      if (!dependencies.has(name) && !dependencies.has(spec.split('/')[0])) continue;
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

// OCR (runtime/legibility/ocrReader.ts) runs in Node: tesseract.js and its worker are bundled
// (dist/tesseractWorker.js), and the worker loads a core build's .js and .wasm files from
// tesseract.js-core; the .wasm.js copies (the WebAssembly inlined as text, 22 MB) are for browsers.
// Which build loads depends on the CPU's SIMD support (and, in tesseract.js 7, never the -lstm ones,
// though it means to), so every build stays. Only the 4.0.0_best_int English data is read.
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

// What the external packages carry that Node never loads from them: TypeScript sources and
// declarations, ES-module copies of CommonJS builds the bundles require, sharp's C++ sources and
// build script, libvips's headers.
function pruneSources(destination) {
  const remove = (...parts) => rmSync(join(destination, ...parts), { recursive: true, force: true });
  remove('onnxruntime-node', 'lib');
  remove('onnxruntime-common', 'lib');
  remove('onnxruntime-common', 'dist', 'esm');
  remove('sharp', 'src');
  remove('sharp', 'install');
  const sharpDist = join(destination, 'sharp', 'dist');
  if (existsSync(sharpDist)) for (const file of readdirSync(sharpDist)) if (/\.(mjs|d\.mts|d\.cts)$/.test(file)) rmSync(join(sharpDist, file));
  for (const name of readdirSync(join(destination, '@img')).filter((n) => n.startsWith('sharp-libvips-'))) remove('@img', name, 'lib', 'glib-2.0');
}

// Pure-JavaScript packages the native ones require (no native code, no file read by path): each is
// bundled into one file at its CommonJS entry, so the .vsix carries a few scripts instead of dozens
// (semver alone is 53 files).
const pureJsPackages = ['onnxruntime-common', 'semver', 'detect-libc', '@img/colour'];

async function bundlePureJs(destination) {
  const requireStaged = createRequire(join(destination, 'package.json'));
  for (const name of pureJsPackages) {
    const dir = join(destination, name);
    if (!existsSync(dir)) continue;
    const entry = requireStaged.resolve(name);
    const { outputFiles } = await esbuild.build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', target: 'node20', minify: true, write: false, logLevel: 'warning' });
    removeScripts(dir);
    mkdirSync(dirname(entry), { recursive: true });
    writeFileSync(entry, outputFiles[0].contents);
  }
}

function removeScripts(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      removeScripts(path);
      if (readdirSync(path).length === 0) rmSync(path, { recursive: true });
    } else if (/\.(c|m)?(j|t)s$/.test(entry.name)) rmSync(path);
  }
}

/** The licences of the packages bundled into the scripts (the external ones keep their own files). */
function thirdPartyNotices(names) {
  const sections = names.map((name) => {
    const dir = join(root, 'node_modules', name);
    const pkg = readJson(join(dir, 'package.json'));
    const licenceFile = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.|-|$)/i.test(f));
    const text = licenceFile ? readFileSync(join(dir, licenceFile), 'utf8').trim() : `License: ${pkg.license ?? 'see the package'}`;
    return `${name} ${pkg.version} (${pkg.license ?? 'unknown licence'})\n\n${text}`;
  });
  const rule = `\n\n${'-'.repeat(72)}\n\n`;
  return `Letterpress bundles the following packages into its scripts (dist/*.js; the codicon font in dist/codicons).\nThe packages under dist/node_modules carry their own licence files.${rule}${sections.join(rule)}\n`;
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
if (!bundles.includes('tesseractWorker.js')) throw new Error('package: dist/tesseractWorker.js is missing (esbuild.mjs builds it)');
for (const file of bundles) cpSync(join(root, 'dist', file), join(stage, 'dist', file));
// The webview's icon font (esbuild.mjs copies it from @vscode/codicons).
cpSync(join(root, 'dist', 'codicons'), join(stage, 'dist', 'codicons'), { recursive: true });
for (const extra of ['README.md', 'LICENSE', 'CHANGELOG.md', 'media']) {
  if (existsSync(join(root, extra))) cpSync(join(root, extra), join(stage, extra), { recursive: true });
}
writeFileSync(join(stage, 'ThirdPartyNotices.txt'), thirdPartyNotices([...readJson(join(root, 'dist', 'bundledPackages.json')), '@vscode/codicons'].sort()));
const { devDependencies: _dev, scripts: _scripts, bin: _bin, ...published } = manifest;
writeFileSync(join(stage, 'package.json'), `${JSON.stringify({ ...published, dependencies: {} }, null, 2)}\n`);
// media/ ships whole: the walkthrough's pages are Markdown.
writeFileSync(join(stage, '.vscodeignore'), '**/*.map\n**/*.d.ts\n**/*.md\n!README.md\n!CHANGELOG.md\n!dist/node_modules/**/LICENSE*.md\n!media/**\n**/test/**\n');

const nodeModules = join(stage, 'dist', 'node_modules');
// The native packages always ship (the runtime may load them lazily); plus whatever else the bundles
// require of the manifest's dependencies (tesseract.js-core from the OCR worker, the OCR data).
const required = externalRequires(
  bundles.map((f) => join(root, 'dist', f)),
  new Set(Object.keys(manifest.dependencies ?? {}).concat('tesseract.js-core')),
);
const externals = [...new Set(['onnxruntime-node', 'sharp', ...required])];
const wanted = externals.filter((name) => existsSync(join(root, 'node_modules', name)));
const missing = externals.filter((name) => !wanted.includes(name));
if (missing.length) throw new Error(`package: not installed: ${missing.join(', ')} (the bundles require them); run npm ci`);
const copied = copyPackageTree(wanted, nodeModules);
pruneOnnxRuntime(nodeModules);
pruneTesseract(nodeModules);
pruneSources(nodeModules);
await bundlePureJs(nodeModules);
console.log(`package: ${target}: native packages ${copied.join(', ')} (${mb(folderSize(nodeModules))} unpacked)`);

const out = resolve(values.out ?? join(root, `letterpress-${target}-${manifest.version}.vsix`));
mkdirSync(dirname(out), { recursive: true });
const vsce = join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
run(process.execPath, [vsce, 'package', '--target', target, '--no-dependencies', '--out', out], stage);
console.log(`package: wrote ${out} (${mb(statSync(out).size)})`);
