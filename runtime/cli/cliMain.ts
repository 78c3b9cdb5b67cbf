#!/usr/bin/env node
// `letterpress` command line. Each subcommand lives in runtime/cli/<name>Command.ts; users get a
// one-line message for their mistakes (CliError) and a stack trace only for our own bugs.
import { CliError } from './cliError.ts';
import { limits } from '../protocol/limits.ts';
import { FileReadError } from '../files/readRegularFile.ts';

type CommandRunner = (args: string[]) => Promise<void>;

const commands: Record<string, { summary: string; load: () => Promise<CommandRunner> }> = {
  convert: {
    summary: 'Convert a model to ONNX ahead of time for a device and print where the graphs are (--model --device --fp16)',
    load: async () => (await import('./convertCommand.ts')).runConvertCommand,
  },
  tokenize: {
    summary: "Print a prompt's CLIP token ids as JSON (--model <dir> --prompt <text>)",
    load: async () => (await import('./tokenizeCommand.ts')).runTokenizeCommand,
  },
  download: {
    summary: 'Fetch the model into the Hugging Face cache and print its folder (--model --revision --cache-dir --dry-run)',
    load: async () => (await import('./downloadCommand.ts')).runDownloadCommand,
  },
  generate: {
    summary: 'Generate images from a prompt into PNG files with their parameters (--prompt --out --model …)',
    load: async () => (await import('./generateCommand.ts')).runGenerateCommand,
  },
  export: {
    summary: 'Icons + favicon.ico, banner crops or a transparent PNG from an image (--input --preset --out-dir)',
    load: async () => (await import('./exportCommand.ts')).runExportCommand,
  },
  cache: {
    summary: 'List the converted graphs Letterpress keeps (ls) and remove the ones you pick (prune --id/--model/--all)',
    load: async () => (await import('./cacheCommand.ts')).runCacheCommand,
  },
  'draw-text': {
    summary: 'Draw exact text on an existing PNG and print what OCR reads back (--image --text --out --text-position --force)',
    load: async () => (await import('./drawTextCommand.ts')).runDrawTextCommand,
  },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return ['usage: letterpress <command> [options]', '', 'commands:', ...lines].join('\n');
}

async function main(): Promise<void> {
  const [name, ...rest] = process.argv.slice(2);
  // Checked before anything else: onnxruntime-node crashes the whole process (SIGSEGV) on a command
  // line much longer than this, so a 30,000-character prompt must be refused, not run.
  const commandLine = process.argv.slice(2).join(' ').length;
  if (commandLine > limits.commandLineChars) {
    throw new CliError(
      `the command line is ${commandLine} characters long; at most ${limits.commandLineChars} (prompts up to ${limits.prompt.maxChars} characters each fit)`,
    );
  }
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(usage() + '\n');
    return;
  }
  const command = commands[name];
  if (!command) throw new CliError(`unknown command "${name}"\n\n${usage()}`);
  const run = await command.load();
  await run(rest);
}

main().catch((error: unknown) => {
  if (error instanceof CliError) {
    process.stderr.write(`letterpress: ${error.message}\n`);
    process.exit(error.exitCode);
  }
  if (error instanceof FileReadError) {
    // A file the user named (or a model folder holds) that cannot be read as one: their input.
    process.stderr.write(`letterpress: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`letterpress: internal error: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(70);
});
