import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatProfileSummary, summarizeProfile, type ProfileEvent } from '../bench/ortProfile.ts';

/** A profile as ONNX Runtime writes it: session events, per-node events and (WebGPU) per-program GPU events. */
function profile(runs: { start: number; nodes: [string, string, number][]; kernels?: [string, number][] }[], provider = 'CPUExecutionProvider'): ProfileEvent[] {
  const events: ProfileEvent[] = [{ cat: 'Session', name: 'session_initialization', ts: 0, dur: 500 }];
  for (const run of runs) {
    let ts = run.start;
    let total = 0;
    for (const [node, op, dur] of run.nodes) {
      events.push({ cat: 'Node', name: `${node}_kernel_time`, ts, dur, args: { op_name: op, provider } });
      ts += dur;
      total += dur;
    }
    let gpuTs = run.start + 1;
    for (const [name, dur] of run.kernels ?? []) {
      events.push({ cat: 'Api', name, ts: gpuTs, dur });
      gpuTs += dur;
    }
    events.push({ cat: 'Session', name: 'model_run', ts: run.start, dur: Math.max(total, gpuTs - run.start) + 10 });
  }
  return events;
}

test('CPU profile: per-node kernel time summed per operator over the runs after the warm-up', () => {
  const nodes: [string, string, number][] = [
    ['conv_in/Conv', 'Conv', 300],
    ['a/Add', 'Add', 50],
    ['b/Add', 'Add', 50],
    ['attn/MultiHeadAttention', 'MultiHeadAttention', 600],
  ];
  // The warm-up run is slow and has an extra node; it must not count.
  const warmup: [string, string, number][] = [...nodes.map(([n, o, d]) => [n, o, d * 10] as [string, string, number]), ['x/Shape', 'Shape', 5000]];
  const summary = summarizeProfile(profile([{ start: 1000, nodes: warmup }, { start: 100_000, nodes }, { start: 200_000, nodes }]), 1);
  assert.equal(summary.runs, 2);
  assert.equal(summary.source, 'node');
  assert.equal(summary.dispatchesPerRun, 4);
  assert.deepEqual(summary.nodesPerRunByProvider, { CPUExecutionProvider: 4 });
  assert.equal(summary.busyMsPerRun, 1);
  assert.deepEqual(
    summary.operators.map((o) => [o.op, o.msPerRun, o.countPerRun]),
    [
      ['MultiHeadAttention', 0.6, 1],
      ['Conv', 0.3, 1],
      ['Add', 0.1, 2],
    ],
  );
  assert.equal(summary.operators[0]!.share, 0.6);
  assert.deepEqual(summary.programs, []);
  const lines = formatProfileSummary(summary, 2);
  assert.match(lines[1]!, /dispatches per run: 4 nodes; nodes per run by provider: CPU 4/);
  assert.match(lines.at(-1)!, /1 more operators: 10\.0%/);
});

test('WebGPU profile: GPU time from the Api events (node&Op&Program), nodes on the CPU counted apart', () => {
  const nodes: [string, string, number][] = [
    ['conv', 'Conv', 20],
    ['mm', 'MatMul', 10],
  ];
  const kernels: [string, number][] = [
    ['conv&Conv&Conv2DMatMul', 900],
    ['mm&MatMul&MatMul', 300],
    ['mm&MatMul&Transpose', 100],
  ];
  const events = profile([{ start: 0, nodes, kernels }, { start: 10_000, nodes, kernels }, { start: 20_000, nodes, kernels }], 'WebGpuExecutionProvider');
  // Two shape nodes that run on the CPU in each counted run.
  for (const start of [10_000, 20_000]) {
    events.push({ cat: 'Node', name: 'shape_kernel_time', ts: start + 5, dur: 1, args: { op_name: 'Shape', provider: 'CPUExecutionProvider' } });
  }
  const summary = summarizeProfile(events, 1);
  assert.equal(summary.source, 'gpu');
  assert.equal(summary.runs, 2);
  assert.equal(summary.dispatchesPerRun, 3);
  assert.deepEqual(summary.nodesPerRunByProvider, { WebGpuExecutionProvider: 2, CPUExecutionProvider: 1 });
  assert.equal(summary.busyMsPerRun, 1.3);
  assert.deepEqual(
    summary.operators.map((o) => [o.op, o.msPerRun, o.countPerRun]),
    [
      ['Conv', 0.9, 1],
      ['MatMul', 0.4, 2],
    ],
  );
  assert.deepEqual(
    summary.programs.map((p) => p.op),
    ['Conv/Conv2DMatMul', 'MatMul/MatMul', 'MatMul/Transpose'],
  );
});

test('GPU timestamps on a clock of their own: the last runs\' share of them counts', () => {
  const events = profile([{ start: 1_000_000, nodes: [['n', 'Conv', 1]] }, { start: 2_000_000, nodes: [['n', 'Conv', 1]] }]);
  // Api events before every run on the session clock: the warm-up's 3 kernels first, then the counted run's 2.
  [['a&Conv&P', 50], ['b&Add&Q', 50], ['c&Add&Q', 50], ['a&Conv&P', 7], ['b&Add&Q', 3]].forEach(([name, dur], i) => events.push({ cat: 'Api', name: String(name), ts: i, dur: Number(dur) }));
  const summary = summarizeProfile(events, 1);
  assert.equal(summary.source, 'gpu');
  // 5 kernels over 2 runs: the last floor(5 x 1/2) = 2 of them are the counted run's.
  assert.equal(summary.dispatchesPerRun, 2);
  assert.deepEqual(summary.operators.map((o) => [o.op, o.msPerRun]), [['Conv', 0.007], ['Add', 0.003]]);
});

test('a profile without enough runs is refused with what it holds', () => {
  assert.throws(() => summarizeProfile(profile([{ start: 0, nodes: [['n', 'Conv', 1]] }]), 1), /holds 1 run\(s\); at least 2/);
});
