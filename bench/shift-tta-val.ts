// Val AUC / accuracy / log-loss of a finished run with shift TTA: the mean probabilities over the image and copies
// shifted by ±D px (edge pixels repeated), 4 or 8 shifts. VAL only (the protocol: dev val decides, test is not read).
//
//   node --import tsx bench/shift-tta-val.ts RUN_DIR [D]
import { Dataset, type SplitName } from '../src/data/index.js';
import { RunModel } from '../src/pipeline/predict.js';
import { openRunSource, runSplits } from '../src/pipeline/run-source.js';
import { openRunDir } from '../src/run/index.js';
import { computeSplitMetrics, softmax } from '../src/eval/index.js';
const [dir, dArg] = process.argv.slice(2);
const d = Number(dArg ?? 1);
const run = openRunDir(dir!);
const cfg = run.config;
const source = openRunSource(cfg.data.source, cfg.data);
const { splits } = await runSplits(run, source);
const ds = new Dataset(source, { splits, cacheTensors: false });
const model = await RunModel.open(dir!, { threads: 2 });
const pre = model.preprocessOptions;
const b = await ds.loadBatch(ds.indicesOf('val' as SplitName), pre, { concurrency: 4 });
const n = b.labels.length; const k = model.classes.length;
const [, c, h, w] = b.x.dims as number[];
const shift = (x: Float32Array, dy: number, dx: number) => {
  const o = new Float32Array(x.length);
  for (let i = 0; i < n * c; i++) for (let y = 0; y < h!; y++) for (let xx = 0; xx < w!; xx++) {
    const sy = Math.min(h! - 1, Math.max(0, y - dy)), sx = Math.min(w! - 1, Math.max(0, xx - dx));
    o[i * h! * w! + y * w! + xx] = x[i * h! * w! + sy * w! + sx]!;
  }
  return o;
};
const probsOf = async (x: Float32Array) => softmax(Float64Array.from(await model.logits(x, n, { tta: model.tta })), k);
const variants: [string, [number, number][]][] = [['none', [[0, 0]]], [`shift${d} x4`, [[0, 0], [d, 0], [-d, 0], [0, d], [0, -d]]], [`shift${d} x8`, [[0, 0], [d, 0], [-d, 0], [0, d], [0, -d], [d, d], [-d, -d], [d, -d], [-d, d]]]];
const labels = Int32Array.from(b.labels);
for (const [name, shifts] of variants) {
  const mean = new Float64Array(n * k);
  for (const [dy, dx] of shifts) {
    const p = await probsOf(dy || dx ? shift(b.x.data as Float32Array, dy, dx) : b.x.data as Float32Array);
    p.forEach((v, i) => { mean[i] += v / shifts.length; });
  }
  const m = computeSplitMetrics(labels, mean, k); // the same metrics as metrics.json (uncalibrated: no temperature)
  console.log(dir, name.padEnd(10), 'auc', (m.roc_auc ?? m.roc_auc_ovr_macro)!.toFixed(4), 'acc', m.accuracy.toFixed(4), 'log-loss', m.log_loss.toFixed(4));
}
await model.dispose();
