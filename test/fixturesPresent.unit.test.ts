import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fixturesDir } from './fixturePaths.ts';

test('the reference fixtures live inside the project', () => {
  for (const file of ['tiny-sd2/model_index.json', 'reference/components.safetensors', 'reference/schedulers.json']) {
    assert.ok(existsSync(join(fixturesDir, file)), `missing test/fixtures/${file}`);
  }
});
