// Option parsing shared by the CLI's commands: strict (an unknown option or a missing value is a
// CliError followed by the usage), no positional arguments, and -h/--help printing the help.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError } from './cliError.ts';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
type StrictConfig<O extends OptionsConfig> = { args: string[]; options: O; strict: true; allowPositionals: false };

/** The parsed option values, or undefined when --help was asked for (and `help` has been printed). */
export function parseCliOptions<const O extends OptionsConfig>(
  args: string[],
  options: O,
  texts: { usage: string; help?: string },
): ReturnType<typeof parseArgs<StrictConfig<O>>>['values'] | undefined {
  const withHelp: OptionsConfig = { ...options, help: { type: 'boolean', short: 'h' } };
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args, options: withHelp, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new CliError(`${(error as Error).message}\n\n${texts.usage}`);
  }
  if (values.help === true) {
    process.stdout.write(`${texts.help ?? texts.usage}\n`);
    return undefined;
  }
  return values as ReturnType<typeof parseArgs<StrictConfig<O>>>['values'];
}
