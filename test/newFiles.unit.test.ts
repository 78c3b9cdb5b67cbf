// The one write-without-overwriting helper (runtime/files/newFiles.ts): no file is ever replaced
// without being asked, nothing is written through a planted link, temporary names are unpredictable
// and created exclusively, and none is left behind after success or failure.
import assert from 'node:assert/strict';
import { link, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { writeCliOutput } from '../runtime/cli/cliOutputFile.ts';
import { CliError } from '../runtime/cli/cliError.ts';
import {
  candidateNames,
  createTempFile,
  FileExistsError,
  keptFileSize,
  NotRegularFileError,
  openKeptFile,
  pathExists,
  writeAtFreeName,
  writeNewFile,
} from '../runtime/files/newFiles.ts';
import { openSafetensors } from '../runtime/safetensors/safetensorsFile.ts';
import { safetensorsTensorsWriter } from '../runtime/safetensors/safetensorsWriter.ts';

let base: string;
let n = 0;
/** A fresh folder per test, and a file outside it that links try to lead to. */
async function scene(): Promise<{ folder: string; victim: string }> {
  const root = join(base, `case-${++n}`);
  const folder = join(root, 'out');
  await mkdir(folder, { recursive: true });
  const victim = join(root, 'victim.txt');
  await writeFile(victim, 'precious');
  return { folder, victim };
}

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'letterpress-newfiles-'));
});
after(() => rm(base, { recursive: true, force: true }));

const tempNames = async (folder: string) => (await readdir(folder)).filter((name) => name.endsWith('.tmp'));

test('names: name.png, then name-2.png, name-3.png…; folders without an extension', () => {
  const png = candidateNames('open', '.png');
  assert.deepEqual([png.next().value, png.next().value, png.next().value], ['open.png', 'open-2.png', 'open-3.png']);
  const folders = candidateNames('open');
  assert.deepEqual([folders.next().value, folders.next().value], ['open', 'open-2']);
});

test('writing at a free name never overwrites and leaves no temporary files', async () => {
  const { folder } = await scene();
  const source = join(folder, '..', 'source.png');
  await writeFile(source, 'first');
  const existing = join(folder, 'open.png');
  await writeFile(existing, 'user file');
  const placed = await writeAtFreeName(folder, 'open', '.png', { copyOf: source });
  assert.equal(placed, join(folder, 'open-2.png'));
  assert.equal(await writeAtFreeName(folder, 'open', '.png', Buffer.from('second')), join(folder, 'open-3.png'));
  assert.equal(await readFile(existing, 'utf8'), 'user file');
  assert.equal(await readFile(placed, 'utf8'), 'first');
  assert.deepEqual((await readdir(folder)).sort(), ['open-2.png', 'open-3.png', 'open.png']);
});

test('a link at a free name counts as taken: skipped, and its target is left alone', async () => {
  const { folder, victim } = await scene();
  await symlink(victim, join(folder, 'open.png'));
  await symlink(join(folder, '..', 'nowhere.png'), join(folder, 'open-2.png'));
  assert.equal(await writeAtFreeName(folder, 'open', '.png', Buffer.from('new')), join(folder, 'open-3.png'));
  assert.equal(await readFile(victim, 'utf8'), 'precious');
  assert.equal(await pathExists(join(folder, '..', 'nowhere.png')), false, 'a dangling link is not followed to create its target');
  assert.equal(await pathExists(join(folder, 'open-2.png')), true, 'a dangling link exists for pathExists');
});

test('concurrent placements of the same name get distinct files', async () => {
  const { folder } = await scene();
  const placed = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => writeAtFreeName(folder, 'same', '.png', Buffer.from(`content ${i}`))));
  assert.equal(new Set(placed).size, 6);
  const contents = await Promise.all(placed.map((p) => readFile(p, 'utf8')));
  assert.deepEqual(contents.sort(), [1, 2, 3, 4, 5, 6].map((i) => `content ${i}`));
  assert.deepEqual(await tempNames(folder), []);
});

test('concurrent writes of one new name: exactly one wins, the others are told the file exists', async () => {
  const { folder } = await scene();
  const path = join(folder, 'one.png');
  const outcomes = await Promise.allSettled([1, 2, 3, 4].map((i) => writeNewFile(path, Buffer.from(`writer ${i}`))));
  assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
  for (const o of outcomes) if (o.status === 'rejected') assert.ok(o.reason instanceof FileExistsError);
  assert.match(await readFile(path, 'utf8'), /^writer [1-4]$/);
  assert.deepEqual(await tempNames(folder), []);
});

test('temporary files are created exclusively: a link planted at the drawn name is never written through', async () => {
  const { folder, victim } = await scene();
  // Aim the "random" part at names where links wait, as an attacker who could guess it would.
  await symlink(victim, join(folder, '.out.png.guessed.tmp'));
  await symlink(join(folder, '..', 'created-by-link.txt'), join(folder, '.out.png.dangling.tmp'));
  const drawn = ['guessed', 'dangling', 'fresh'];
  await writeNewFile(join(folder, 'out.png'), Buffer.from('png bytes'), { randomSuffix: () => drawn.shift()! });
  assert.equal(await readFile(victim, 'utf8'), 'precious');
  assert.equal(await pathExists(join(folder, '..', 'created-by-link.txt')), false);
  assert.equal(await readFile(join(folder, 'out.png'), 'utf8'), 'png bytes');
  assert.ok((await lstat(join(folder, 'out.png'))).isFile());
  // The planted links are not ours to remove; our own temporary name is gone.
  assert.deepEqual((await tempNames(folder)).sort(), ['.out.png.dangling.tmp', '.out.png.guessed.tmp']);
  assert.equal(await readlink(join(folder, '.out.png.guessed.tmp')), victim);
});

test('temporary names are unpredictable: 128 random bits, not the pid', async () => {
  const { folder } = await scene();
  const made = await Promise.all([1, 2].map(() => createTempFile(folder, 'out.png')));
  for (const { handle } of made) await handle.close();
  const names = made.map((m) => m.path.slice(folder.length + 1));
  for (const name of names) {
    assert.match(name, /^\.out\.png\.[0-9a-f]{32}\.tmp$/);
    assert.ok(!name.includes(`.${process.pid}.`));
  }
  assert.notEqual(names[0], names[1]);
});

test('the CLI output: a link planted at the old predictable name .<out>.<pid>.tmp does not redirect the PNG', async () => {
  const { folder, victim } = await scene();
  const out = join(folder, 'out.png');
  await symlink(victim, join(folder, `.out.png.${process.pid}.tmp`));
  await writeCliOutput(out, Buffer.from('png bytes'), false);
  assert.equal(await readFile(victim, 'utf8'), 'precious', 'the link target is untouched');
  assert.ok((await lstat(out)).isFile(), '--out is a file of its own, not a link to the target');
  assert.equal(await readFile(out, 'utf8'), 'png bytes');
});

test('the CLI --raw file: a planted link at the old name is not followed either; the tensor file reads back', async () => {
  const { folder, victim } = await scene();
  const raw = join(folder, 'out.safetensors');
  await symlink(victim, join(folder, `.out.safetensors.${process.pid}.tmp`));
  const data = new Float32Array([0, 0.25, 0.5, 1, 0.75, 0.125]);
  await writeCliOutput(raw, safetensorsTensorsWriter(raw, { image: { dtype: 'F32', shape: [1, 1, 2, 3], data } }), false);
  assert.equal(await readFile(victim, 'utf8'), 'precious');
  const file = await openSafetensors(raw);
  try {
    assert.deepEqual([...(await file.readFloat32('image'))], [...data]);
  } finally {
    await file.close();
  }
  assert.deepEqual((await tempNames(folder)).length, 1, 'only the planted link is left');
});

test('without --force an existing output, or a link at its name, is never replaced; with --force the link itself is', async () => {
  const { folder, victim } = await scene();
  const out = join(folder, 'out.png');
  await writeFile(out, 'user file');
  await assert.rejects(writeCliOutput(out, Buffer.from('new'), false), (e: unknown) => e instanceof CliError && /already exists; use --force/.test(e.message));
  assert.equal(await readFile(out, 'utf8'), 'user file');

  const linked = join(folder, 'linked.png');
  await symlink(victim, linked);
  await assert.rejects(writeNewFile(linked, Buffer.from('new')), FileExistsError);
  assert.equal(await readFile(victim, 'utf8'), 'precious');

  await writeNewFile(linked, Buffer.from('forced'), { overwrite: true });
  assert.equal(await readFile(victim, 'utf8'), 'precious', 'the overwrite replaced the link, not what it points to');
  assert.ok((await lstat(linked)).isFile());
  assert.equal(await readFile(linked, 'utf8'), 'forced');
  assert.deepEqual(await tempNames(folder), []);
});

test('a writer that fails leaves neither the file nor a temporary file', async () => {
  const { folder } = await scene();
  const path = join(folder, 'half.bin');
  await assert.rejects(
    writeNewFile(path, async (handle) => {
      await handle.write(Buffer.from('half of it'));
      throw new Error('disk on fire');
    }),
    /disk on fire/,
  );
  assert.deepEqual(await readdir(folder), []);
  await assert.rejects(writeNewFile(join(folder, 'copy.png'), { copyOf: join(folder, 'missing.png') }), /ENOENT/);
  assert.deepEqual(await readdir(folder), []);
});

test('a kept file (a resumable partial download) is appended to, but a link or hard link at its name is refused', async () => {
  const { folder, victim } = await scene();
  const kept = join(folder, 'blob.incomplete');
  assert.equal(await keptFileSize(kept), 0);
  let handle = await openKeptFile(kept, 'truncate');
  await handle.write(Buffer.from('abc'));
  await handle.close();
  handle = await openKeptFile(kept, 'append');
  await handle.write(Buffer.from('def'));
  await handle.close();
  assert.equal(await readFile(kept, 'utf8'), 'abcdef');
  assert.equal(await keptFileSize(kept), 6);

  const linked = join(folder, 'linked.incomplete');
  await symlink(victim, linked);
  await assert.rejects(keptFileSize(linked), NotRegularFileError);
  await assert.rejects(openKeptFile(linked, 'append'), (e: unknown) => e instanceof NotRegularFileError && /symbolic link/.test(e.message));
  await assert.rejects(openKeptFile(linked, 'truncate'), NotRegularFileError);
  const hard = join(folder, 'hard.incomplete');
  await link(victim, hard);
  await assert.rejects(openKeptFile(hard, 'truncate'), (e: unknown) => e instanceof NotRegularFileError && /hard links/.test(e.message));
  assert.equal(await readFile(victim, 'utf8'), 'precious');
});
