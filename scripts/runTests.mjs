// Runs the test tiers with Node's own test runner (TypeScript through tsx).
// Tiers by suffix: *.unit.test.ts (pure), *.int.test.ts (real runtime process, ONNX Runtime,
// HTTP servers), *.e2e.test.ts (real VS Code in code-server driven by Chromium).
// Usage: node scripts/runTests.mjs [unit|int|e2e ...]   (no argument: every tier)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const tiers = process.argv.slice(2);
const wanted = tiers.length ? tiers : ['unit', 'int', 'e2e'];

function findTests(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'fixtures' || name.startsWith('.')) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) findTests(full, out);
    else if (wanted.some((tier) => name.endsWith(`.${tier}.test.ts`))) out.push(full);
  }
  return out;
}

const files = findTests('test').sort();
if (files.length === 0) {
  console.error(`no test files for tiers: ${wanted.join(', ')}`);
  process.exit(1);
}
// One converted-graph cache for the whole run (the fixture model is converted once, not per file),
// never the user's own.
const ownCache = process.env.LETTERPRESS_CACHE ? undefined : mkdtempSync(join(tmpdir(), 'letterpress-test-cache-'));
// A test that hangs fails after 10 minutes (the slowest passes in about 3 on a loaded 2-core
// machine) instead of holding the whole run until CI's limit.
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', '--test-timeout=600000', ...files],
  { stdio: 'inherit', env: ownCache ? { ...process.env, LETTERPRESS_CACHE: ownCache } : process.env },
);
if (ownCache) rmSync(ownCache, { recursive: true, force: true });
process.exit(result.status ?? 1);
