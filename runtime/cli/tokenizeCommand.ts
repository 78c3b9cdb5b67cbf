// `letterpress tokenize --model <dir> --prompt <text>`: the ids the text encoder would get, as JSON,
// for checking prompts against the 75-token limit and comparing with other implementations.
import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ClipTokenizerError, loadClipTokenizer } from '../tokenizer/clipTokenizer.ts';
import { CliError } from './cliError.ts';

const usage = 'usage: letterpress tokenize --model <model folder> --prompt <text>';

export async function runTokenizeCommand(args: string[]): Promise<void> {
  let values: { model?: string; prompt?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        model: { type: 'string', short: 'm' },
        prompt: { type: 'string', short: 'p' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new CliError(`${(error as Error).message}\n${usage}`);
  }
  if (values.help) {
    process.stdout.write(`${usage}\nPrints {"input_ids": [...], "untruncated_length": N} for the model's CLIP tokenizer.\n`);
    return;
  }
  if (!values.model) throw new CliError(`tokenize needs --model <model folder>\n${usage}`);
  if (values.prompt === undefined) throw new CliError(`tokenize needs --prompt <text> (use --prompt "" for an empty prompt)\n${usage}`);

  const isFolder = await stat(values.model).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isFolder) throw new CliError(`model folder not found: ${values.model}`);
  try {
    const tokenizer = await loadClipTokenizer(values.model);
    const { inputIds, untruncatedLength } = tokenizer.encode(values.prompt);
    process.stdout.write(`${JSON.stringify({ input_ids: inputIds, untruncated_length: untruncatedLength })}\n`);
  } catch (error) {
    if (error instanceof ClipTokenizerError) throw new CliError(error.message);
    throw error;
  }
}
