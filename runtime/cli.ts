#!/usr/bin/env node
// `letterpress` command line: subcommands are added by the modules that implement them.
const [command] = process.argv.slice(2);
process.stderr.write(`letterpress: unknown command ${command ?? '(none)'}\n`);
process.exit(2);
