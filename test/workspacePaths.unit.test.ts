import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isInside, OutputPathError, relativeReference, resolveInside, resolveOutputFolder } from '../extension/workspace/workspacePaths.ts';

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

test('references are relative with forward slashes', () => {
  assert.equal(relativeReference(join(root, 'docs'), join(root, 'assets', 'generated', 'a.png')), '../assets/generated/a.png');
});
