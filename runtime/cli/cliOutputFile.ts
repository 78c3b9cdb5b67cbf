// The CLI's output files (PNGs, --raw): written through runtime/files/newFiles.ts (exclusive random
// temporary file, placed atomically), replacing an existing file only with --force.
import { FileExistsError, writeNewFile, type NewFileContent } from '../files/newFiles.ts';
import { CliError } from './cliError.ts';

export async function writeCliOutput(path: string, content: NewFileContent, force: boolean): Promise<void> {
  try {
    await writeNewFile(path, content, { overwrite: force });
  } catch (error) {
    if (error instanceof FileExistsError) throw new CliError(`${path} already exists; use --force to overwrite it`);
    throw error;
  }
}
