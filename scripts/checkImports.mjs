// The import rule (.dependency-cruiser.cjs) over every folder of code in the current directory:
// the repository root in `npm test`, or a copy of it with a bad import planted
// (test/importRule.int.test.ts). Prints each violation with its rule; exits non-zero on any.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const codeFolders = ['extension', 'runtime', 'webview', 'test', 'bench', 'scripts'];

const folders = codeFolders.filter((folder) => existsSync(folder));
const result = spawnSync(
  process.execPath,
  [cli, '--config', join(root, '.dependency-cruiser.cjs'), '--output-type', 'err', ...folders],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
