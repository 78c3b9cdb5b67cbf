// Reads the profile ONNX Runtime writes with `enableProfiling` (Chrome trace events, one JSON array)
// and sums it per operator: where a UNet step's time goes and how many kernels it launches.
//
// - `cat: "Session"`, name `model_run`: one per session.run(); runs that started before `skipRuns`
//   runs had ended (warm-up, shader compilation) are left out, with every event inside them.
// - `cat: "Node"`, name `<node>_kernel_time`: one per node executed, `args.op_name`, `args.provider`,
//   `dur` in µs. On the CPU provider that is the kernel's time; on a GPU provider it is the time the
//   host spent issuing it.
// - `cat: "Api"` (the WebGPU provider with profiling on): one per GPU program dispatched, name
//   `<node>&<op>&<program>`, `dur` in µs of GPU time from the kernels' timestamp queries.
//
// GPU time is summed from the Api events where there are any, else from the Node events.

export interface ProfileEvent {
  cat?: string;
  name?: string;
  dur?: number;
  ts?: number;
  args?: Record<string, unknown>;
}

export interface OperatorTime {
  op: string;
  /** Summed duration per run, in ms. */
  msPerRun: number;
  /** Kernels (Api source) or nodes (Node source) per run. */
  countPerRun: number;
  /** Share of all the source's time, 0..1. */
  share: number;
}

export interface ProfileSummary {
  /** Runs summed (after the skipped ones). */
  runs: number;
  /** 'gpu': the WebGPU provider's kernel timestamps; 'node': per-node times (the CPU provider's kernel time). */
  source: 'gpu' | 'node';
  /** Mean wall time of a counted run (model_run), ms. */
  runMs: number;
  /** Summed time of the source per run, ms (can be less than runMs: gaps, transfers; GPU work may overlap the host). */
  busyMsPerRun: number;
  /** Kernels launched per run: GPU dispatches (Api events) or node executions (Node events). */
  dispatchesPerRun: number;
  /** Node executions per run, by provider (e.g. nodes that fell back to the CPU under a GPU provider). */
  nodesPerRunByProvider: Record<string, number>;
  /** Operators by time, the largest first. */
  operators: OperatorTime[];
  /** GPU programs by time (Api source only; empty otherwise), the largest first. */
  programs: OperatorTime[];
}

function opOfApiEvent(name: string): { op: string; program: string } {
  const parts = name.split('&');
  if (parts.length >= 3) return { op: parts[parts.length - 2]!, program: parts[parts.length - 1]! };
  return { op: parts[parts.length - 1] ?? name, program: parts[parts.length - 1] ?? name };
}

function ranked(totals: Map<string, { us: number; count: number }>, runs: number): OperatorTime[] {
  const all = [...totals.values()].reduce((s, v) => s + v.us, 0);
  return [...totals.entries()]
    .map(([op, v]) => ({ op, msPerRun: v.us / 1000 / runs, countPerRun: v.count / runs, share: all > 0 ? v.us / all : 0 }))
    .sort((a, b) => b.msPerRun - a.msPerRun || a.op.localeCompare(b.op));
}

/** Sums `events` (the parsed profile file) per operator over the runs after the first `skipRuns`. */
export function summarizeProfile(events: readonly ProfileEvent[], skipRuns = 1): ProfileSummary {
  const runs = events
    .filter((e) => e.cat === 'Session' && e.name === 'model_run' && typeof e.ts === 'number' && typeof e.dur === 'number')
    .sort((a, b) => a.ts! - b.ts!);
  if (runs.length <= skipRuns) throw new Error(`the profile holds ${runs.length} run(s); at least ${skipRuns + 1} are needed (${skipRuns} skipped as warm-up)`);
  const counted = runs.slice(skipRuns);
  // Everything before the end of the last skipped run belongs to the warm-up. GPU timestamps are
  // converted to the same clock by ORT, but may trail their run: they count if they start after it.
  const countFrom = skipRuns > 0 ? runs[skipRuns - 1]!.ts! + runs[skipRuns - 1]!.dur! : -Infinity;
  const n = counted.length;
  const kept = events.filter((e) => typeof e.ts === 'number' && e.ts >= countFrom && typeof e.dur === 'number');
  let api = kept.filter((e) => e.cat === 'Api' && typeof e.name === 'string');
  const allApi = events.filter((e) => e.cat === 'Api' && typeof e.name === 'string' && typeof e.dur === 'number');
  if (api.length === 0 && allApi.length > 0) {
    // GPU timestamps on a clock of their own: the counted runs' share of them, the last ones.
    const sorted = [...allApi].sort((a, b) => (a.ts ?? 0) - (b.ts ?? 0));
    api = sorted.slice(sorted.length - Math.floor((sorted.length * n) / runs.length));
  }
  const nodes = kept.filter((e) => e.cat === 'Node' && typeof e.name === 'string' && e.name.endsWith('_kernel_time'));
  const byProvider: Record<string, number> = {};
  for (const e of nodes) {
    const provider = String(e.args?.provider ?? 'unknown');
    byProvider[provider] = (byProvider[provider] ?? 0) + 1 / n;
  }
  const operatorTotals = new Map<string, { us: number; count: number }>();
  const programTotals = new Map<string, { us: number; count: number }>();
  const add = (map: Map<string, { us: number; count: number }>, key: string, us: number) => {
    const entry = map.get(key) ?? { us: 0, count: 0 };
    entry.us += us;
    entry.count += 1;
    map.set(key, entry);
  };
  const source = api.length > 0 ? 'gpu' : 'node';
  if (source === 'gpu') {
    for (const e of api) {
      const { op, program } = opOfApiEvent(e.name!);
      add(operatorTotals, op, e.dur!);
      add(programTotals, `${op}/${program}`, e.dur!);
    }
  } else {
    for (const e of nodes) add(operatorTotals, String(e.args?.op_name ?? e.name!.replace(/_kernel_time$/, '')), e.dur!);
  }
  const busyUs = (source === 'gpu' ? api : nodes).reduce((s, e) => s + e.dur!, 0);
  return {
    runs: n,
    source,
    runMs: counted.reduce((s, e) => s + e.dur!, 0) / 1000 / n,
    busyMsPerRun: busyUs / 1000 / n,
    dispatchesPerRun: (source === 'gpu' ? api.length : nodes.length) / n,
    nodesPerRunByProvider: byProvider,
    operators: ranked(operatorTotals, n),
    programs: source === 'gpu' ? ranked(programTotals, n) : [],
  };
}

/** A few lines for the terminal: the top `limit` operators, dispatches per run, nodes per provider. */
export function formatProfileSummary(summary: ProfileSummary, limit = 12): string[] {
  const what = summary.source === 'gpu' ? 'GPU time (WebGPU kernel timestamps)' : 'kernel time (per node)';
  const lines = [
    `${summary.runs} profiled runs, ${summary.runMs.toFixed(1)} ms each (profiling slows runs; see the timed rows for speed); ` +
      `${what} ${summary.busyMsPerRun.toFixed(1)} ms per run`,
    `dispatches per run: ${Math.round(summary.dispatchesPerRun)} ${summary.source === 'gpu' ? 'GPU programs' : 'nodes'}; nodes per run by provider: ` +
      Object.entries(summary.nodesPerRunByProvider)
        .map(([p, c]) => `${p.replace(/ExecutionProvider$/, '')} ${Math.round(c)}`)
        .join(', '),
  ];
  const width = Math.max(8, ...summary.operators.slice(0, limit).map((o) => o.op.length));
  lines.push(`${'operator'.padEnd(width)}  ${'share'.padStart(6)}  ${'ms/run'.padStart(8)}  ${'count/run'.padStart(9)}`);
  for (const o of summary.operators.slice(0, limit)) {
    lines.push(`${o.op.padEnd(width)}  ${`${(o.share * 100).toFixed(1)}%`.padStart(6)}  ${o.msPerRun.toFixed(2).padStart(8)}  ${String(Math.round(o.countPerRun)).padStart(9)}`);
  }
  const rest = summary.operators.slice(limit);
  if (rest.length > 0) {
    const share = rest.reduce((s, o) => s + o.share, 0);
    lines.push(`(${rest.length} more operators: ${(share * 100).toFixed(1)}%)`);
  }
  return lines;
}
