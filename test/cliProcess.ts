// The real command line in a child process (TypeScript through tsx, as the test runner uses), its
// exit code and both output streams collected whether it succeeds or fails.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const cli = resolve('runtime/cli/cliMain.ts');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runLetterpress(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ['--import', 'tsx', cli, ...args], {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as CliResult;
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
