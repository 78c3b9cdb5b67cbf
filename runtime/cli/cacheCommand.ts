// `letterpress cache ls|prune`: what Letterpress keeps in its own cache (the converted ONNX graphs;
// the models themselves stay in the Hugging Face cache) and removing what the user picks.
import { realpath } from 'node:fs/promises';
import { listCachedGraphs, removeCachedGraphs, type CachedGraph } from '../graphCache/graphCache.ts';
import { formatBytes } from '../protocol/byteSize.ts';
import { CliError } from './cliError.ts';
import { parseCliOptions } from './cliOptions.ts';

const usage =
  'usage: letterpress cache ls [--json]\n' +
  '       letterpress cache prune (--id <id>… | --model <repo id or folder> | --untrusted | --all) [--dry-run]';

const help =
  `${usage}\n` +
  'Letterpress keeps the ONNX graphs it converts from a model in its own cache folder (LETTERPRESS_CACHE, else\n' +
  "the OS's cache folder: ~/.cache/letterpress on Linux), one folder per model revision, component, precision\n" +
  'and graph options. float32 graphs share their weights with the model file through a hard link ("linked":\n' +
  'freed with the model, not by prune). `ls` lists them with their size; `prune` removes the ones picked: by the\n' +
  'ids `ls` prints, every graph of a model, what the cache cannot vouch for ("untrusted": set aside because it\n' +
  'was a link or had no valid record), or all. A removed graph is converted again when next needed.';

function describe(graph: CachedGraph): string[] {
  const size = formatBytes(graph.bytes) + (graph.linkedBytes > 0 ? ` (+${formatBytes(graph.linkedBytes)} linked)` : '');
  return [
    graph.model,
    graph.revision?.slice(0, 12) ?? (graph.trusted ? 'local' : '-'),
    graph.component ?? 'untrusted',
    graph.precision ?? '-',
    graph.provider ?? '-',
    size,
    graph.id,
  ];
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}

async function runList(args: string[]): Promise<void> {
  const values = parseCliOptions(args, { json: { type: 'boolean' } }, { usage, help });
  if (!values) return;
  const { cacheDir, graphs } = await listCachedGraphs();
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ cacheDir, graphs }, null, 2)}\n`);
    return;
  }
  process.stdout.write(`Letterpress cache: ${cacheDir}\n`);
  if (graphs.length === 0) {
    process.stdout.write('No converted graphs kept.\n');
    return;
  }
  const header = ['MODEL', 'REVISION', 'COMPONENT', 'PRECISION', 'PROVIDER', 'SIZE', 'ID'];
  process.stdout.write(`${table([header, ...graphs.map(describe)])}\n`);
  const own = graphs.reduce((sum, g) => sum + g.bytes, 0);
  const linked = graphs.reduce((sum, g) => sum + g.linkedBytes, 0);
  process.stdout.write(`${graphs.length} entries, ${formatBytes(own)} of their own${linked ? `, ${formatBytes(linked)} linked to model files` : ''}\n`);
}

async function sameFolder(a: string, b: string): Promise<boolean> {
  const [ra, rb] = await Promise.all([realpath(a).catch(() => a), realpath(b).catch(() => b)]);
  return ra === rb;
}

async function runPrune(args: string[]): Promise<void> {
  const values = parseCliOptions(
    args,
    {
      id: { type: 'string', multiple: true },
      model: { type: 'string' },
      untrusted: { type: 'boolean' },
      all: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
    },
    { usage, help },
  );
  if (!values) return;
  if (!values.id && !values.model && !values.untrusted && !values.all) {
    throw new CliError(`prune needs what to remove: --id (from \`letterpress cache ls\`), --model, --untrusted or --all\n${usage}`);
  }
  const { graphs } = await listCachedGraphs();
  const known = new Set(graphs.map((g) => g.id));
  const missing = (values.id ?? []).filter((id) => !known.has(id));
  if (missing.length > 0) throw new CliError(`no cache entry ${missing.map((id) => `"${id}"`).join(', ')}; \`letterpress cache ls\` lists them`);
  const picked: CachedGraph[] = [];
  for (const graph of graphs) {
    const byModel = values.model !== undefined && (graph.model === values.model || (await sameFolder(graph.model, values.model)));
    if (values.all || values.id?.includes(graph.id) || byModel || (values.untrusted && !graph.trusted)) picked.push(graph);
  }
  if (picked.length === 0) {
    process.stdout.write('Nothing to remove.\n');
    return;
  }
  const bytes = picked.reduce((sum, g) => sum + g.bytes, 0);
  if (values['dry-run']) {
    for (const graph of picked) process.stdout.write(`would remove ${graph.id}\n`);
    process.stdout.write(`would free ${formatBytes(bytes)}\n`);
    return;
  }
  const result = await removeCachedGraphs(picked.map((g) => g.id));
  for (const id of result.removed) process.stdout.write(`removed ${id}\n`);
  process.stdout.write(`freed ${formatBytes(result.freedBytes)}\n`);
}

export async function runCacheCommand(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub === 'ls' || sub === 'list') return runList(rest);
  if (sub === 'prune') return runPrune(rest);
  if (sub === '--help' || sub === '-h') {
    process.stdout.write(`${help}\n`);
    return;
  }
  throw new CliError(`${sub ? `unknown cache command "${sub}"` : 'cache needs ls or prune'}\n${usage}`);
}
