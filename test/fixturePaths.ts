import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// Tests run from the repository root (npm test); every fixture lives under test/fixtures.
export const fixturesDir = resolve('test/fixtures');
export const tinyModelDir = resolve(fixturesDir, 'tiny-sd2');
export const referenceDir = resolve(fixturesDir, 'reference');
export const sd2ConfigsDir = resolve(fixturesDir, 'sd2-configs');

// Converted graphs go to a cache of the test run's own (scripts/runTests.mjs makes one for the
// whole run), never the user's; child processes (CLI, runtime, code-server) inherit it.
if (!process.env.LETTERPRESS_CACHE) {
  const cache = mkdtempSync(join(tmpdir(), 'letterpress-test-cache-'));
  process.env.LETTERPRESS_CACHE = cache;
  process.on('exit', () => rmSync(cache, { recursive: true, force: true }));
}
