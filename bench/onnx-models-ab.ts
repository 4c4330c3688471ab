// Inference time of several ONNX files with the same input (e.g. float, int8 and an int8 variant of one run),
// alternated A B C A B C in one process, so drift on a shared machine hits each alike. Not run by npm run bench.
//   node --import tsx bench/onnx-models-ab.ts BATCH ROUNDS THREADS MODEL.onnx MODEL.onnx…
// Prints per model the median and min ms per batch, the median ratio to the first model, and the largest output
// difference to the second model (the first int8 one, when the first is the float model).
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Session, loadModel } from '../src/engine/index.js';

const [batchS, roundsS, threadsS, ...files] = process.argv.slice(2);
if (!batchS || files.length < 2) {
  process.stdout.write('usage: node --import tsx bench/onnx-models-ab.ts BATCH ROUNDS THREADS MODEL.onnx MODEL.onnx…\n');
  process.exit(0);
}
const batch = Number(batchS);
const rounds = Number(roundsS);
const bytes = files.map((f) => readFileSync(f));
const input = loadModel(bytes[0]!).inputs[0]!;
const dims = [batch, ...input.dims.slice(1).map((d) => (typeof d === 'number' ? d : 1))];
const x = { dtype: 'float32' as const, dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i) * 0.9) };
const sessions = await Promise.all(bytes.map((b) => Session.create(b, { threads: Number(threadsS) })));
const outs: Float32Array[] = [];
for (const s of sessions) outs.push(Object.values(await s.run({ [input.name]: x }))[0]!.data as Float32Array);
const iters = Math.max(3, Math.round(64 / batch));
const times = files.map((): number[] => []);
const load = [loadavg()[0]!];
for (let r = 0; r < rounds; r++) {
  for (let k = 0; k < sessions.length; k++) {
    const t0 = performance.now();
    for (let i = 0; i < iters; i++) await sessions[k]!.run({ [input.name]: x });
    times[k]!.push((performance.now() - t0) / iters);
  }
}
load.push(loadavg()[0]!);
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
for (let k = 0; k < files.length; k++) {
  const ratios = times[0]!.map((t, r) => t / times[k]![r]!);
  let diff = 0;
  for (let i = 0; i < outs[k]!.length; i++) diff = Math.max(diff, Math.abs(outs[k]![i]! - outs[1]![i]!));
  process.stdout.write(`${JSON.stringify({
    name: 'onnx-models-ab', model: files[k], batch, threads: Number(threadsS), rounds, iters, median_ms: +median(times[k]!).toFixed(2), min_ms: +Math.min(...times[k]!).toFixed(2),
    ratio_to_first_median_of_alternated: +median(ratios).toFixed(3), max_abs_out_diff_to_second: +diff.toFixed(4), load: load.map((l) => +l.toFixed(2)),
  })}\n`);
}
for (const s of sessions) await s.dispose();
