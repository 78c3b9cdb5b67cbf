import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isInside, OutputPathError, relativeReference, resolveInside, resolveOutputFolder } from '../extension/workspace/workspacePaths.ts';
import { placeFileInFolder } from '../extension/workspace/workspaceWrite.ts';

let base: string;
let root: string;
before(async () => {
  base = await mkdtemp(join(tmpdir(), 'letterpress-paths-'));
  root = join(base, 'workspace');
  await mkdir(join(root, 'assets'), { recursive: true });
  await mkdir(join(base, 'outside'));
});
after(() => rm(base, { recursive: true, force: true }));

test('relative folders resolve inside the workspace', async () => {
  assert.equal(resolveInside(root, 'assets/generated'), join(root, 'assets', 'generated'));
  assert.equal(await resolveOutputFolder(root, './assets/generated/'), join(root, 'assets', 'generated'));
  assert.equal(await resolveOutputFolder(root, '.'), root);
  assert.equal(await resolveOutputFolder(root, join(root, 'assets')), join(root, 'assets'), 'an absolute path inside is fine');
});

test('.. and absolute paths outside the workspace are refused with a message naming the setting', async () => {
  for (const bad of ['..', '../outside', 'assets/../../outside', join(base, 'outside'), '/etc']) {
    await assert.rejects(resolveOutputFolder(root, bad), (error: unknown) => error instanceof OutputPathError && /letterpress\.outputFolder/.test(error.message), bad);
  }
  assert.throws(() => resolveInside(root, '  '), OutputPathError);
  assert.ok(!isInside('/a/b', '/a/bc'), 'a sibling with a common prefix is not inside');
  assert.ok(isInside('/a/b', '/a/b/..c'), 'a name starting with dots is inside');
});

test('a symbolic link that leads out of the workspace is refused, also for folders below it', async () => {
  await symlink(join(base, 'outside'), join(root, 'escape'));
  await assert.rejects(resolveOutputFolder(root, 'escape'), /symbolic link/);
  await assert.rejects(resolveOutputFolder(root, 'escape/not/yet/there'), /symbolic link/);
  await symlink(join(root, 'assets'), join(root, 'inner-link'));
  assert.equal(await resolveOutputFolder(root, 'inner-link/new'), join(root, 'inner-link', 'new'), 'a link that stays inside is fine');
});

test('placing files never overwrites and leaves no temporary files', async () => {
  const source = join(base, 'source.png');
  await writeFile(source, 'first');
  const folder = join(root, 'assets', 'generated');
  const existing = join(folder, 'open.png');
  await mkdir(folder, { recursive: true });
  await writeFile(existing, 'user file');
  const placed = await placeFileInFolder(source, folder, 'open');
  assert.equal(placed, join(folder, 'open-2.png'));
  await writeFile(source, 'second');
  assert.equal(await placeFileInFolder(source, folder, 'open'), join(folder, 'open-3.png'));
  assert.equal(await readFile(existing, 'utf8'), 'user file');
  assert.equal(await readFile(placed, 'utf8'), 'first');
  assert.deepEqual((await readdir(folder)).sort(), ['open-2.png', 'open-3.png', 'open.png']);
});

test('concurrent placements of the same name get distinct files', async () => {
  const folder = join(root, 'race');
  const sources = await Promise.all(
    [1, 2, 3, 4].map(async (i) => {
      const file = join(base, `s${i}.png`);
      await writeFile(file, `content ${i}`);
      return file;
    }),
  );
  const placed = await Promise.all(sources.map((s) => placeFileInFolder(s, folder, 'same')));
  assert.equal(new Set(placed).size, 4);
  const contents = await Promise.all(placed.map((p) => readFile(p, 'utf8')));
  assert.deepEqual(contents.sort(), ['content 1', 'content 2', 'content 3', 'content 4']);
});

test('references are relative with forward slashes', () => {
  assert.equal(relativeReference(join(root, 'docs'), join(root, 'assets', 'generated', 'a.png')), '../assets/generated/a.png');
});
