// `letterpress tokenize --model <dir|repo id> --prompt <text>`: the ids the text encoder would get, as JSON,
// for checking prompts against the 75-token limit and comparing with other implementations.
import { ClipTokenizerError, loadClipTokenizer } from '../tokenizer/clipTokenizer.ts';
import { CliError } from './cliError.ts';
import { resolveCliModel } from './cliModel.ts';
import { parseCliOptions } from './cliOptions.ts';

const usage = 'usage: letterpress tokenize --model <model folder or hub repo id> --prompt <text>';

export async function runTokenizeCommand(args: string[]): Promise<void> {
  const values = parseCliOptions(
    args,
    {
      model: { type: 'string', short: 'm' },
      prompt: { type: 'string', short: 'p' },
    },
    {
      usage,
      help:
        `${usage}\nPrints {"input_ids": [...], "untruncated_length": N} for the model's CLIP tokenizer.\n` +
        `A repo id is looked up in the Hugging Face cache, and downloaded (with the whole model) when missing.`,
    },
  );
  if (!values) return;
  if (!values.model) throw new CliError(`tokenize needs --model <model folder or hub repo id>\n${usage}`);
  if (values.prompt === undefined) throw new CliError(`tokenize needs --prompt <text> (use --prompt "" for an empty prompt)\n${usage}`);

  const modelDir = await resolveCliModel(values.model);
  try {
    const tokenizer = await loadClipTokenizer(modelDir);
    const { inputIds, untruncatedLength } = tokenizer.encode(values.prompt);
    process.stdout.write(`${JSON.stringify({ input_ids: inputIds, untruncated_length: untruncatedLength })}\n`);
  } catch (error) {
    if (error instanceof ClipTokenizerError) throw new CliError(error.message);
    throw error;
  }
}
