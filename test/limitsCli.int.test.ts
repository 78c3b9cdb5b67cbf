// The limits table at the CLI boundary (issue 11; issue 15 item 6): every argument is checked
// before any work. In process, table-driven: the largest valid value of each limit gets past the
// checks (to the model look-up, which fails on a missing folder), the first invalid one is refused
// naming the flag and the limit. As real processes: the inputs that used to crash or run for
// minutes end at once with exit code 2 and one line.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CliError } from '../runtime/cli/cliError.ts';
import { runGenerateCommand } from '../runtime/cli/generateCommand.ts';
import { limits } from '../runtime/protocol/limits.ts';
import { runLetterpress } from './cliProcess.ts';
import { tinyModelDir } from './fixturePaths.ts';
import { boundaryValues, numberLimitCases, textLimitCases } from './limitCases.ts';

let dir: string;
let missingModel: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lp-limits-cli-'));
  missingModel = join(dir, 'no-such-model');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The CliError runGenerateCommand ends with (none of these runs may get as far as generating). */
async function refusal(args: string[]): Promise<string> {
  try {
    await runGenerateCommand(['--model', missingModel, '--device', 'cpu', '--out', join(dir, 'never.png'), ...args]);
  } catch (error) {
    assert.ok(error instanceof CliError, `${args.join(' ')}: ${String(error)}`);
    return error.message;
  }
  assert.fail(`${args.join(' ')}: expected a refusal`);
}

const passedChecks = /^cannot use model .*no-such-model/;

test('CLI: the largest valid value of each limit passes every check, the first invalid one is refused with the flag and the limit', async () => {
  for (const { field, flag, limit } of numberLimitCases) {
    const { maxOk, aboveMax, minOk, belowMin } = boundaryValues(limit);
    // Best of N keeps one image; a prompt without quotes has no text to check.
    const context = field === 'candidates' ? ['--prompt', 'a sign that says "OPEN"'] : ['--prompt', 'a plain sign'];
    // The CLI's candidates are 1..N or auto (0 is the runtime's spelling of auto).
    const low = field === 'candidates' ? { ok: 1, bad: undefined } : { ok: minOk, bad: belowMin };
    for (const ok of [maxOk, low.ok]) {
      assert.match(await refusal([...context, `${flag}=${ok}`]), passedChecks, `${flag} ${ok}`);
    }
    for (const bad of [aboveMax, low.bad]) {
      if (bad === undefined) continue;
      const message = await refusal([...context, `${flag}=${bad}`]);
      if (flag === '--candidates') assert.match(message, new RegExp(`^--candidates must be auto or a whole number from 1 to ${limit.max}, got ${bad}`));
      else assert.match(message, new RegExp(`^${flag} must be .*from ${limit.min} to ${limit.max}, got ${bad}$`), `${flag} ${bad}`);
    }
  }
  for (const { flag, maxChars, field } of textLimitCases) {
    const base = field === 'target' ? ['--prompt', 'a sign'] : ['--prompt', 'a sign'];
    const args = (text: string) => (flag === '--prompt' ? ['--prompt', text] : [...base, flag, text]);
    assert.match(await refusal(args('A'.repeat(maxChars))), passedChecks, `${flag} of ${maxChars}`);
    assert.match(await refusal(args('A'.repeat(maxChars + 1))), new RegExp(`^${flag} is ${maxChars + 1} characters long; at most ${maxChars}`));
  }
  assert.match(await refusal(['--prompt', 'x', '--scheduler', 'heun']), /^--scheduler must be one of ddim, pndm, .*got "heun"$/);
  assert.match(await refusal(['--prompt', 'x', '--device', 'tpu']), /^--device must be one of auto, cpu, .*got "tpu"$/);
});

test('CLI: --out in a missing folder, a folder, a dangling link or an existing file is refused before the model is looked up', async () => {
  const folder = join(dir, 'a-folder.png');
  await mkdir(folder);
  const dangling = join(dir, 'dangling.png');
  await symlink(join(dir, 'nothing-here.png'), dangling);
  const existing = join(dir, 'existing.png');
  await writeFile(existing, 'taken');
  const cases: Array<[string, RegExp]> = [
    [join(dir, 'missing', 'a.png'), /^--out .*: the folder .*missing does not exist; create it first$/],
    [folder, /^--out .*a-folder\.png is a folder: name a file in it$/],
    [dangling, /^--out .*dangling\.png is a link to nothing \(dangling\)/],
    [existing, /existing\.png already exists; use --force to overwrite it$/],
  ];
  for (const [out, message] of cases) {
    let error: unknown;
    try {
      await runGenerateCommand(['--model', missingModel, '--prompt', 'x', '--out', out]);
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof CliError, String(error));
    assert.match(error.message, message);
  }
  const cliStart = await runLetterpress(['generate', '--model', missingModel, '--prompt', 'x', '--out', join(dir, 'missing', 'a.png'), '--raw', join(dir, 'raw.safetensors')]);
  assert.equal(cliStart.code, 2);
  assert.deepEqual((await readdir(dir)).sort(), ['a-folder.png', 'dangling.png', 'existing.png'], 'nothing written');
});

test('CLI: what used to crash or run for minutes ends at once with exit code 2 and one line', async () => {
  const out = join(dir, 'x.png');
  const cases: Array<[string, string[], RegExp]> = [
    // DDIM and PNDM threw a RangeError at 1000 steps, after loading the model.
    ['--steps 1000', ['--prompt', 'x', '--steps', '1000', '--scheduler', 'ddim'], new RegExp(`^letterpress: --steps must be a whole number from 1 to ${limits.steps.max}, got 1000\\n$`)],
    // Refused after 44 s, or an out-of-memory abort.
    ['--num-images 100000000', ['--prompt', 'x', '--num-images', '100000000'], /^letterpress: --num-images must be a whole number from 1 to \d+, got 100000000\n$/],
    // Step 1 had not finished after 14 minutes on the CPU.
    ['4096x4096', ['--prompt', 'x', '--width', '4096', '--height', '4096'], new RegExp(`^letterpress: --width must be a multiple of 8 from 64 to ${limits.side.max}, got 4096\\n$`)],
    // SIGSEGV: onnxruntime-node crashes on a command line this long.
    ['a 30,000-character prompt', ['--prompt', 'a'.repeat(30_000)], /^letterpress: the command line is \d+ characters long; at most 16384/],
    ['a 5,000-character prompt', ['--prompt', 'a'.repeat(5000)], new RegExp(`^letterpress: --prompt is 5000 characters long; at most ${limits.prompt.maxChars}\\n$`)],
  ];
  for (const [what, args, message] of cases) {
    const started = Date.now();
    const result = await runLetterpress(['generate', '--model', tinyModelDir, '--device', 'cpu', '--out', out, ...args]);
    assert.equal(result.code, 2, `${what}: ${result.code} ${result.stderr}`);
    assert.match(result.stderr, message, what);
    assert.equal(result.stderr.trim().split('\n').length, 1, `${what}: one line`);
    assert.equal(result.stdout, '');
    assert.ok(Date.now() - started < 20_000, `${what}: refused at once`);
  }
});
