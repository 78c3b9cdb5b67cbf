// The --model option of the commands that read only part of a model (tokenize, convert): a folder
// is used as it is, so their own checks can say precisely what it lacks; anything else is a hub
// repo id, looked up in the cache or downloaded as `generate` does.
import { stat } from 'node:fs/promises';
import { ModelStoreError } from '../modelStore/modelStoreError.ts';
import { resolveModel } from '../modelStore/resolveModel.ts';
import { CliError } from './cliError.ts';
import { downloadProgressPrinter } from './downloadProgressPrinter.ts';

export async function resolveCliModel(model: string, signal?: AbortSignal): Promise<string> {
  const isFolder = await stat(model).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (isFolder) return model;
  try {
    return (await resolveModel({ model, onProgress: downloadProgressPrinter(process.stderr), signal })).modelDir;
  } catch (error) {
    if (error instanceof ModelStoreError) throw new CliError(`cannot use model ${model}: ${error.message}`);
    throw error;
  }
}
