import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { referenceDir, tinyModelDir } from './fixturePaths.ts';
import { makeTempDir, startHubServer } from './hubServer.ts';
import { runLetterpress } from './cliProcess.ts';

const letterpress = (...args: string[]) => runLetterpress(args);
const letterpressWithEnv = (env: Record<string, string>, ...args: string[]) => runLetterpress(args, env);



const cases = JSON.parse(readFileSync(join(referenceDir, 'tokenizer-cases.json'), 'utf8')).cases as {
  prompt: string;
  input_ids: number[];
  untruncated_length: number;
}[];

test('letterpress tokenize prints the reference ids as one JSON object', async () => {
  for (const reference of [cases[3], cases.find((c) => c.untruncated_length > 77)!]) {
    const { code, stdout, stderr } = await letterpress('tokenize', '--model', tinyModelDir, '--prompt', reference.prompt);
    assert.equal(code, 0, stderr);
    assert.equal(stdout.trim().split('\n').length, 1);
    assert.deepEqual(JSON.parse(stdout), { input_ids: reference.input_ids, untruncated_length: reference.untruncated_length });
  }
});

test('letterpress tokenize explains a missing model, a partial tokenizer folder and missing options', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'letterpress-cli-'));
  try {
    const missing = await letterpress('tokenize', '--model', join(dir, 'absent'), '--prompt', 'x');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^letterpress: cannot use model .*absent: The model folder .*absent does not exist/);
    assert.equal(missing.stdout, '');

    await mkdir(join(dir, 'partial', 'tokenizer'), { recursive: true });
    await symlink(join(tinyModelDir, 'tokenizer', 'vocab.json'), join(dir, 'partial', 'tokenizer', 'vocab.json'));
    const partial = await letterpress('tokenize', '--model', join(dir, 'partial'), '--prompt', 'x');
    assert.equal(partial.code, 2);
    assert.match(partial.stderr, /merges\.txt, tokenizer_config\.json are missing/);
    assert.doesNotMatch(partial.stderr, /\n\s+at /); // no stack trace

    const noPrompt = await letterpress('tokenize', '--model', tinyModelDir);
    assert.equal(noPrompt.code, 2);
    assert.match(noPrompt.stderr, /--prompt/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('letterpress tokenize takes a hub repo id: downloads the model into the cache once, then works offline', async () => {
  const server = await startHubServer();
  const cache = makeTempDir();
  try {
    const reference = cases[3];
    const env = { HF_ENDPOINT: server.endpoint, HF_HUB_CACHE: cache.dir, HF_HUB_OFFLINE: '', HF_TOKEN: '' };
    const online = await letterpressWithEnv(env, 'tokenize', '--model', server.repoId, '--prompt', reference.prompt);
    assert.equal(online.code, 0, online.stderr);
    assert.deepEqual(JSON.parse(online.stdout), { input_ids: reference.input_ids, untruncated_length: reference.untruncated_length });
    assert.equal(server.servedBytes('tokenizer/vocab.json'), server.file('tokenizer/vocab.json').content.length);

    const connections = server.connections;
    const offline = await letterpressWithEnv({ ...env, HF_HUB_OFFLINE: '1' }, 'tokenize', '--model', server.repoId, '--prompt', reference.prompt);
    assert.equal(offline.code, 0, offline.stderr);
    assert.equal(offline.stdout, online.stdout);
    assert.equal(server.connections, connections, 'the cached snapshot needs no connection');

    const unknown = await letterpressWithEnv({ ...env, HF_HUB_OFFLINE: '1' }, 'tokenize', '--model', 'nobody/absent', '--prompt', 'x');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^letterpress: cannot use model nobody\/absent: .*not in the cache/);
    assert.doesNotMatch(unknown.stderr, /\n\s+at /);
  } finally {
    await server.close();
    cache.remove();
  }
});
