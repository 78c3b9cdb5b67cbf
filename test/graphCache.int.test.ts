// Letterpress's own cache of converted graphs: out of the Hugging Face snapshot (scan_cache_dir sees
// only the repository's files), listed and pruned by `letterpress cache`, never following a link out
// of where it belongs (issue 15, item 2), and loading only what it wrote itself (item 4).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, lstat, mkdir, mkdtemp, readdir, readFile, readlink, realpath, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, sep } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ensureConvertedComponent } from '../runtime/onnx/convertModel.ts';
import { conversionSlot } from '../runtime/graphCache/graphCache.ts';
import { runLetterpress } from './cliProcess.ts';
import { type HubServer, makeTempDir, startHubServer } from './hubServer.ts';
import { assertAgrees, copyTinyModel, createSession, removeTempDirs, runComponent } from './onnxTestSupport.ts';

after(removeTempDirs);

// Each test gets an empty cache of its own (child processes get it through their environment).
const outerCache = process.env.LETTERPRESS_CACHE;
let cacheDir = '';
beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'lp-graph-cache-'));
  process.env.LETTERPRESS_CACHE = cacheDir;
});
after(async () => {
  process.env.LETTERPRESS_CACHE = outerCache;
});

/** Every entry under `dir`, relative, links not followed; directories end with a slash. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (at: string) => {
    for (const name of (await readdir(at)).sort()) {
      const path = join(at, name);
      const info = await lstat(path);
      const rel = relative(dir, path).split(sep).join('/');
      if (info.isDirectory()) {
        out.push(`${rel}/`);
        await walk(path);
      } else out.push(info.isSymbolicLink() ? `${rel} -> ${await readlink(path)}` : rel);
    }
  };
  await walk(dir);
  return out;
}

describe('a model from the hub', () => {
  let server: HubServer;
  const temp = makeTempDir('lp-graph-cache-hub-');
  before(async () => {
    server = await startHubServer();
  });
  after(async () => {
    await server.close();
    temp.remove();
  });

  test('after a generation the snapshot holds only the repository files; `letterpress cache` lists and prunes the graphs', async () => {
    const env = { HF_ENDPOINT: server.endpoint, HF_HUB_CACHE: join(temp.dir, 'hub'), HF_HUB_OFFLINE: '', HF_TOKEN: '', LETTERPRESS_CACHE: cacheDir };
    const generateArgs = ['generate', '--model', server.repoId, '--prompt', 'a sign that says OPEN', '--steps', '1', '--width', '64', '--height', '64'];
    const generated = await runLetterpress([...generateArgs, '--device', 'cpu', '--out', join(temp.dir, 'one.png')], env);
    assert.equal(generated.code, 0, generated.stderr);

    // What huggingface_hub's scan_cache_dir walks: blobs/, refs/, snapshots/<commit>/**. Every file
    // of the snapshot must be one of the repository's, and nothing else may sit beside them.
    const repoDir = join(temp.dir, 'hub', `models--${server.repoId.replace('/', '--')}`);
    assert.deepEqual((await readdir(repoDir)).filter((n) => !['blobs', 'refs', 'snapshots', '.no_exist'].includes(n)), []);
    const [commit, ...others] = await readdir(join(repoDir, 'snapshots'));
    assert.deepEqual(others, []);
    const snapshotFiles = (await tree(join(repoDir, 'snapshots', commit!))).filter((e) => !e.endsWith('/'));
    assert.ok(snapshotFiles.length >= 8, snapshotFiles.join('\n'));
    for (const entry of snapshotFiles) {
      const [file, target] = entry.split(' -> ');
      assert.ok(target?.includes('blobs/'), `${file} is a link into blobs/`);
      assert.doesNotThrow(() => server.file(file!, commit), `${file} is not a file of the repository`);
    }
    const blobCount = (await readdir(join(repoDir, 'blobs'))).length;
    assert.ok(blobCount > 0 && blobCount <= snapshotFiles.length);

    // The graphs are in our cache, keyed by the repository and the snapshot's commit.
    const listed = await runLetterpress(['cache', 'ls', '--json'], env);
    assert.equal(listed.code, 0, listed.stderr);
    const { graphs } = JSON.parse(listed.stdout) as { graphs: { id: string; model: string; revision: string; component: string; precision: string; provider: string; bytes: number; linkedBytes: number; trusted: boolean }[] };
    assert.deepEqual(
      graphs.map((g) => [g.model, g.revision, g.component, g.precision, g.provider, g.trusted]),
      ['text_encoder', 'unet', 'vae_decoder'].map((c) => [server.repoId, commit, c, 'fp32', 'cpu', true]),
    );
    for (const g of graphs) {
      assert.ok(g.id.startsWith(`letterpress-test--tiny-sd2@${commit}/${g.component}-fp32-`), g.id);
      // float32: the weights are a hard link to the blob (linked), the graph itself is ours.
      assert.ok(g.bytes > 0 && g.linkedBytes > 0, JSON.stringify(g));
    }
    const text = await runLetterpress(['cache', 'ls'], env);
    assert.match(text.stdout, /^Letterpress cache: /);
    assert.match(text.stdout, /MODEL +REVISION +COMPONENT +PRECISION +PROVIDER +SIZE +ID/);
    assert.match(text.stdout, new RegExp(`letterpress-test/tiny-sd2 +${commit!.slice(0, 12)} +unet +fp32 +cpu +`));

    // Pruning: what the user picks, checked before anything is removed.
    const nothing = await runLetterpress(['cache', 'prune'], env);
    assert.equal(nothing.code, 2);
    assert.match(nothing.stderr, /prune needs what to remove/);
    const unknown = await runLetterpress(['cache', 'prune', '--id', graphs[1]!.id, '--id', '../../etc'], env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no cache entry "\.\.\/\.\.\/etc"/);
    assert.ok(existsSync(join(cacheDir, 'graphs', graphs[1]!.id)), 'nothing removed after a bad id');
    const one = await runLetterpress(['cache', 'prune', '--id', graphs[1]!.id], env);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, new RegExp(`removed ${graphs[1]!.id.replace(/[.+]/g, '\\$&')}`));
    assert.equal(existsSync(join(cacheDir, 'graphs', graphs[1]!.id)), false);
    const left = JSON.parse((await runLetterpress(['cache', 'ls', '--json'], env)).stdout) as { graphs: { component: string }[] };
    assert.deepEqual(left.graphs.map((g) => g.component), ['text_encoder', 'vae_decoder']);
    // The blob the pruned graph was linked to is the model's, and stays.
    assert.equal((await readdir(join(repoDir, 'blobs'))).length, blobCount);

    const again = await runLetterpress([...generateArgs, '--device', 'cpu', '--out', join(temp.dir, 'two.png')], env);
    assert.equal(again.code, 0, again.stderr);
    const all = await runLetterpress(['cache', 'prune', '--model', server.repoId], env);
    assert.equal(all.code, 0, all.stderr);
    assert.equal((all.stdout.match(/^removed /gm) ?? []).length, 3);
    assert.match((await runLetterpress(['cache', 'ls'], env)).stdout, /No converted graphs kept/);
  });
});

test('a local model folder gets its graphs in our cache, and the graphs an older version left in it are removed', async () => {
  const modelDir = await copyTinyModel();
  const old = join(modelDir, '.letterpress', 'onnx', 'text_encoder-fp32-0123456789abcdef');
  await mkdir(old, { recursive: true });
  await writeFile(join(old, 'identity.json'), JSON.stringify({ converterVersion: 2, component: 'text_encoder' }));
  await writeFile(join(old, 'model.onnx'), 'old graph');
  // Not ours by its name: stays, and so does the folder holding it.
  await writeFile(join(modelDir, '.letterpress', 'notes.txt'), 'mine');
  const converted = await ensureConvertedComponent(modelDir, 'text_encoder');
  assert.ok(converted.onnxPath.startsWith(join(await realpath(cacheDir), 'graphs', 'folder-tiny-sd2-')));
  assert.deepEqual(await tree(join(modelDir, '.letterpress')), ['notes.txt']);

  const clean = await copyTinyModel();
  const stale = join(clean, '.letterpress', 'onnx', 'unet-fp16-0123456789abcdef');
  await mkdir(stale, { recursive: true });
  await writeFile(join(stale, 'identity.json'), JSON.stringify({ converterVersion: 1, component: 'unet' }));
  await ensureConvertedComponent(clean, 'vae_decoder');
  assert.equal(existsSync(join(clean, '.letterpress')), false, 'the emptied legacy folders go too');
});

describe('links out of where the cache belongs (issue 15, item 2)', () => {
  /** A folder outside everything, laid out like a cache an older version wrote, with a day-old temp folder. */
  async function outsideVictim(): Promise<{ dir: string; before: string[] }> {
    const dir = await mkdtemp(join(tmpdir(), 'lp-victim-'));
    const conversion = join(dir, 'onnx', 'text_encoder-fp32-0123456789abcdef');
    await mkdir(conversion, { recursive: true });
    await writeFile(join(conversion, 'identity.json'), JSON.stringify({ converterVersion: 2, component: 'text_encoder' }));
    const tempDir = join(dir, 'onnx', '.tmp-unet-4242-deadbeef');
    await mkdir(tempDir);
    await writeFile(join(tempDir, 'precious.txt'), 'not Letterpress');
    await utimes(tempDir, new Date(Date.now() - 3 * 86_400_000), new Date(Date.now() - 3 * 86_400_000));
    return { dir, before: await tree(dir) };
  }

  test('<model>/.letterpress or .letterpress/onnx as a link: nothing is written or removed through it', async () => {
    for (const linked of ['.letterpress', 'onnx'] as const) {
      const modelDir = await copyTinyModel();
      const victim = await outsideVictim();
      if (linked === '.letterpress') await symlink(victim.dir, join(modelDir, '.letterpress'));
      else {
        await mkdir(join(modelDir, '.letterpress'));
        await symlink(join(victim.dir, 'onnx'), join(modelDir, '.letterpress', 'onnx'));
      }
      const converted = await ensureConvertedComponent(modelDir, 'text_encoder');
      assert.ok(!(await realpath(converted.onnxPath)).startsWith(await realpath(victim.dir)), 'converted through the link');
      assert.deepEqual(await tree(victim.dir), victim.before, `${linked} as a link: the folder it points to was changed`);
      assert.ok((await lstat(join(modelDir, ...(linked === '.letterpress' ? ['.letterpress'] : ['.letterpress', 'onnx'])))).isSymbolicLink());
      await rm(victim.dir, { recursive: true, force: true });
    }
  });

  test("a link in our own cache (the model's folder, a graph's folder) is set aside, not followed, and the graph made anew", async () => {
    const modelDir = await copyTinyModel();
    const first = await ensureConvertedComponent(modelDir, 'text_encoder');
    const graphDir = dirname(first.onnxPath);
    const sourceDir = dirname(graphDir);

    // The model's folder in the cache becomes a link to a folder elsewhere holding a copy of it.
    const victim = await mkdtemp(join(tmpdir(), 'lp-victim-'));
    await cp(sourceDir, join(victim, 'copy'), { recursive: true });
    await rename(sourceDir, join(victim, 'moved'));
    await symlink(join(victim, 'copy'), sourceDir);
    const before = await tree(victim);
    const second = await ensureConvertedComponent(modelDir, 'text_encoder');
    assert.equal(second.fromCache, false);
    assert.ok((await lstat(sourceDir)).isDirectory(), 'a real folder again');
    assert.deepEqual(await tree(victim), before, 'the link target was not touched');
    const setAside = (await readdir(dirname(sourceDir))).filter((n) => n.startsWith('.set-aside-'));
    assert.equal(setAside.length, 1);
    assert.ok((await lstat(join(dirname(sourceDir), setAside[0]!))).isSymbolicLink(), 'the link itself was moved aside');

    // A graph's folder as a link to a good-looking conversion elsewhere.
    await rm(graphDir, { recursive: true });
    await symlink(join(victim, 'copy', basename(graphDir)), graphDir);
    const third = await ensureConvertedComponent(modelDir, 'text_encoder');
    assert.equal(third.fromCache, false);
    assert.match(third.notes.join('\n'), /could not be trusted \(it is a symbolic link\)/);
    assert.ok((await lstat(graphDir)).isDirectory());
    assert.deepEqual(await tree(victim), before);
    const { actual, expected } = await runComponent(await createSession(third.onnxPath), 'text_encoder');
    assertAgrees('text_encoder rebuilt after a planted link', actual, expected, 1e-4);

    // `cache ls` shows what was set aside as untrusted, and `prune --untrusted` removes the links, not their targets.
    const listed = JSON.parse((await runLetterpress(['cache', 'ls', '--json'])).stdout) as { graphs: { id: string; trusted: boolean }[] };
    assert.equal(listed.graphs.filter((g) => !g.trusted).length, 2, JSON.stringify(listed.graphs));
    const pruned = await runLetterpress(['cache', 'prune', '--untrusted']);
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.deepEqual(await tree(victim), before);
    const after = JSON.parse((await runLetterpress(['cache', 'ls', '--json'])).stdout) as { graphs: { trusted: boolean }[] };
    assert.deepEqual(after.graphs.map((g) => g.trusted), [true]);
    await rm(victim, { recursive: true, force: true });
  });
});

describe('only graphs this cache wrote are loaded (issue 15, item 4)', () => {
  test('a planted folder with the right name (copied from another cache, as an archive would bring it) is rebuilt', async () => {
    const modelDir = await copyTinyModel();
    const planted = await ensureConvertedComponent(modelDir, 'text_encoder');
    // Another cache: its own key. The folder arrives with the same name, record and files.
    const otherCache = await mkdtemp(join(tmpdir(), 'lp-graph-cache-other-'));
    process.env.LETTERPRESS_CACHE = otherCache;
    const slot = await conversionSlot(modelDir, basename(dirname(planted.onnxPath)));
    await cp(dirname(planted.onnxPath), slot.dir, { recursive: true });
    const loaded = await ensureConvertedComponent(modelDir, 'text_encoder');
    assert.equal(loaded.onnxPath, join(slot.dir, 'model.onnx'));
    assert.equal(loaded.fromCache, false, 'a planted folder was trusted by its name');
    assert.match(loaded.notes.join('\n'), /could not be trusted \(it has no record signed by this cache\)/);
    assert.equal((await ensureConvertedComponent(modelDir, 'text_encoder')).fromCache, true, 'what it wrote itself is loaded');
    await rm(otherCache, { recursive: true, force: true });
  });

  test('a graph or weights file changed after it was written is noticed on load', async () => {
    const modelDir = await copyTinyModel();
    const first = await ensureConvertedComponent(modelDir, 'vae_decoder');
    const vae = await readFile(first.onnxPath);
    const textEncoder = await ensureConvertedComponent(modelDir, 'text_encoder');
    // Another graph in the VAE's place, record untouched.
    await rm(first.onnxPath);
    await cp(textEncoder.onnxPath, first.onnxPath);
    const second = await ensureConvertedComponent(modelDir, 'vae_decoder');
    assert.equal(second.fromCache, false);
    assert.match(second.notes.join('\n'), /model\.onnx (has \d+ bytes, the record says \d+|is not the file that was written)/);
    assert.deepEqual(await readFile(second.onnxPath), vae);

    // float32 weights are a hard link to the model's file: a same-size copy with other values is not it.
    const weights = join(dirname(second.onnxPath), 'weights.safetensors');
    const bytes = await readFile(weights);
    bytes[bytes.length - 1] ^= 0x55;
    await rm(weights);
    await writeFile(weights, bytes);
    const third = await ensureConvertedComponent(modelDir, 'vae_decoder');
    assert.equal(third.fromCache, false);
    assert.match(third.notes.join('\n'), /weights\.safetensors is no longer the model's file/);
    const decoded = await runComponent(await createSession(third.onnxPath), 'vae_decoder', 'square');
    assertAgrees('vae_decoder rebuilt after its weights were swapped', decoded.actual, decoded.expected, 1e-4);
  });

  test('the signing key is made once, readable by its owner only, and never through a link', async () => {
    const modelDir = await copyTinyModel();
    await ensureConvertedComponent(modelDir, 'text_encoder');
    const key = await lstat(join(cacheDir, 'record.key'));
    assert.ok(key.isFile());
    if (process.platform !== 'win32') assert.equal(key.mode & 0o077, 0);

    const fresh = await mkdtemp(join(tmpdir(), 'lp-graph-cache-link-'));
    const victim = join(fresh, 'victim');
    await writeFile(victim, 'do not overwrite');
    await mkdir(join(fresh, 'cache'));
    await symlink(victim, join(fresh, 'cache', 'record.key'));
    process.env.LETTERPRESS_CACHE = join(fresh, 'cache');
    await assert.rejects(ensureConvertedComponent(modelDir, 'text_encoder'), /record\.key is not a regular file/);
    assert.equal(await readFile(victim, 'utf8'), 'do not overwrite');
    await rm(fresh, { recursive: true, force: true });
  });
});

test('a hub snapshot is keyed by its repository and commit; the graphs older versions kept beside it in the repo folder are removed', async () => {
  const copy = await copyTinyModel();
  const commit = 'a'.repeat(40);
  const repo = join(dirname(copy), 'hub', 'models--someone--tiny');
  const snapshot = join(repo, 'snapshots', commit);
  await mkdir(dirname(snapshot), { recursive: true });
  await rename(copy, snapshot);
  const old = join(repo, 'letterpress-onnx', commit, 'unet-fp32-0123456789abcdef');
  await mkdir(old, { recursive: true });
  await writeFile(join(old, 'identity.json'), JSON.stringify({ converterVersion: 2, component: 'unet' }));
  const converted = await ensureConvertedComponent(snapshot, 'unet');
  assert.equal(basename(dirname(dirname(converted.onnxPath))), `someone--tiny@${commit}`);
  assert.deepEqual((await readdir(repo)).sort(), ['snapshots'], 'the repo folder holds what huggingface_hub put there, nothing of ours');
  const listed = JSON.parse((await runLetterpress(['cache', 'ls', '--json'])).stdout) as { graphs: { model: string; revision: string; component: string }[] };
  assert.deepEqual(listed.graphs.map((g) => [g.model, g.revision, g.component]), [['someone/tiny', commit, 'unet']]);
});
