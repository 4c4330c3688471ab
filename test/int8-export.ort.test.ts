// medclass export --int8: a small trained run → model.int8.onnx in QDQ form that onnxruntime fuses into int8 kernels,
// agreeing with the float model; serve --int8 and batch predict --int8 answer from it.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import pkg from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunModel, compareLogits, exportInt8, int8SaturationWarning, predictImages, type Int8Export } from '../src/pipeline/index.js';
import { openRunDir } from '../src/run/index.js';
import { int8MaySaturate } from '../src/engine/index.js';
import { ChunkRunner, batchPredict, chunkJob, planBatch } from '../src/queue/index.js';
import { buildServer } from '../src/serve/index.js';
import { phantomSource, preprocessImage } from '../src/data/index.js';
import { removeTempDir } from './pipeline/predict-helpers.js';
import { listenLocal, trainServeRun, writePhantomPngs, SERVE_SOURCE } from './serve/serve-helpers.js';

const { onnx } = pkg;
let runDir = '';
let cleanup = () => {};
let pngDir = '';
let files: string[] = [];
let exported: Int8Export;

beforeAll(async () => {
  ({ runDir, cleanup } = await trainServeRun('int8'));
  exported = await exportInt8(runDir, { images: 64, threads: 1 });
  pngDir = mkdtempSync(join(tmpdir(), 'medclass-int8-png-'));
  files = await writePhantomPngs(pngDir, [0, 7, 42, 99, 150, 201, 333, 399]);
}, 180_000);

afterAll(() => {
  cleanup();
  if (pngDir) removeTempDir(pngDir);
});

describe('export --int8', () => {
  it('writes model.int8.onnx in QDQ form: int8 per-channel weights (axis 0), uint8 activations, int32 biases', () => {
    const run = openRunDir(runDir);
    expect(run.manifest.files.map((f) => f.path)).toEqual(expect.arrayContaining(['model.int8.onnx', 'metrics.int8.json']));
    // decoded with the ONNX protobuf schema directly, not through the engine's IR
    const m = onnx.ModelProto.decode(readFileSync(run.path('model.int8.onnx')));
    const g = m.graph!;
    const inits = new Map(g.initializer!.map((t) => [t.name!, t]));
    const ops = g.node!.map((n) => n.opType);
    expect(ops.filter((o) => o === 'QuantizeLinear').length).toBeGreaterThan(4);
    const weightDq = g.node!.filter((n) => n.opType === 'DequantizeLinear' && inits.get(n.input![0]!)?.dataType === onnx.TensorProto.DataType.INT8);
    expect(weightDq.length).toBeGreaterThanOrEqual(5); // the compact CNN's Convs after the stem, and the Gemm
    for (const n of weightDq) {
      const w = inits.get(n.input![0]!)!;
      const scale = inits.get(n.input![1]!)!;
      const axis = Number(n.attribute!.find((a) => a.name === 'axis')?.i ?? 1);
      expect(scale.dims!.map(Number)).toEqual([Number(w.dims![axis])]); // one scale per output channel
      expect(inits.get(n.input![2]!)!.dataType).toBe(onnx.TensorProto.DataType.INT8);
      // auto range: 7-bit weights where this CPU's int8 kernels may saturate (x86 without VNNI), else full range
      const q = new Int8Array(w.rawData!.buffer, w.rawData!.byteOffset, w.rawData!.byteLength);
      const maxQ = q.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(maxQ).toBe(int8MaySaturate() ? 64 : 127);
    }
    expect(exported.comparison!.reduce_range).toBe(int8MaySaturate());
    const convDq = weightDq.filter((n) => inits.get(n.input![0]!)!.dims!.length === 4);
    expect(convDq.every((n) => Number(n.attribute!.find((a) => a.name === 'axis')!.i) === 0)).toBe(true);
    const act = g.node!.filter((n) => n.opType === 'QuantizeLinear').map((n) => inits.get(n.input![2]!)!.dataType);
    expect(new Set(act)).toEqual(new Set([onnx.TensorProto.DataType.UINT8]));
    expect(g.node!.some((n) => n.opType === 'DequantizeLinear' && inits.get(n.input![0]!)?.dataType === onnx.TensorProto.DataType.INT32)).toBe(true);
    expect(ops).not.toContain('BatchNormalization'); // folded into the Convs
  });

  it('onnxruntime loads it and fuses the QDQ pattern into QLinearConv / QGemm kernels', async () => {
    const opt = join(pngDir, 'int8.optimized.onnx');
    const s = await ort.InferenceSession.create(join(runDir, 'model.int8.onnx'), { intraOpNumThreads: 1, optimizedModelFilePath: opt, logSeverityLevel: 3 });
    await s.release();
    const fused = onnx.ModelProto.decode(readFileSync(opt)).graph!.node!.map((n) => n.opType);
    const convs = onnx.ModelProto.decode(readFileSync(join(runDir, 'model.onnx'))).graph!.node!.filter((n) => n.opType === 'Conv').length;
    // every Conv but the stem runs in int8: the stem reads the float image, its output is quantized
    expect(fused.filter((o) => o === 'QLinearConv').length).toBe(convs - 1);
    expect(fused.filter((o) => o === 'Conv').length).toBe(1);
    expect(fused).toContain('QGemm');
    expect(fused).not.toContain('DequantizeLinear'); // every DQ went into a kernel or was folded
  });

  it('agrees with the float model: top-1 on ≥ 95 % of images, probabilities within 0.1, test AUC within 0.02', async () => {
    const src = phantomSource(SERVE_SOURCE);
    const idx = Array.from({ length: 40 }, (_, i) => i * 10);
    const fl = await RunModel.open(runDir, { threads: 1 });
    const q = await RunModel.open(runDir, { threads: 1, int8: true });
    try {
      const xs = await Promise.all(idx.map(async (i) => (await preprocessImage(await src.items[i]!.load(), fl.preprocessOptions, src.items[i]!.id)).data));
      const x = new Float32Array(xs.length * xs[0]!.length);
      xs.forEach((v, i) => x.set(v, i * v.length));
      const a = await fl.logits(x, xs.length);
      const b = await q.logits(x, xs.length);
      const c = compareLogits(a, b, fl.classes.length);
      expect(c.agreement).toBeGreaterThanOrEqual(0.95);
      expect(c.maxAbsProbDiff).toBeLessThan(0.1);
      expect(c.maxAbsProbDiff).toBeGreaterThan(0); // it really is another model
    } finally {
      await fl.dispose();
      await q.dispose();
    }
    const m = JSON.parse(readFileSync(join(runDir, 'metrics.int8.json'), 'utf8'));
    expect(m.test.roc_auc).toBeGreaterThan(0.9);
    expect(m.quantization).toMatchObject({ method: 'qdq-static', calibration: { split: 'val', ranges: 'percentile' } });
    expect(Math.abs(m.quantization.auc_drop)).toBeLessThan(0.02);
    expect(m.quantization.top1_agreement).toBeGreaterThanOrEqual(0.95);
    expect(exported.comparison!.quantized_weights).toBe(m.quantization.quantized_weights);
    expect(m.quantization.bias_corrected_layers).toBe(m.quantization.quantized_weights); // every int8 Conv/Gemm
    expect(m.quantization).toMatchObject({ float_stem: true, stem_space_to_depth: false }); // a stride-1 stem stays float
    // the export timed both models here: batch 1 and 32, each a positive time and their ratio
    expect(m.quantization.speed.threads).toBe(1);
    expect(m.quantization.speed.batches.map((b: { batch: number }) => b.batch)).toEqual([1, 32]);
    for (const b of m.quantization.speed.batches) {
      expect(b.float_ms).toBeGreaterThan(0);
      expect(b.int8_ms).toBeGreaterThan(0);
      expect(b.speedup).toBeGreaterThan(0);
    }
  });

  it('evaluates in chunks: loadChunk 7 gives the metrics of one pass over each split (to float32 rounding)', async () => {
    const metrics = () => JSON.parse(readFileSync(join(runDir, 'metrics.int8.json'), 'utf8'));
    const whole = metrics();
    await exportInt8(runDir, { images: 64, threads: 1, loadChunk: 7 });
    const chunked = metrics();
    for (const split of ['val', 'test'] as const) {
      expect(Object.keys(chunked[split])).toEqual(Object.keys(whole[split]));
      expect(whole[split].roc_auc).toBeTypeOf('number');
      expect(whole[split].accuracy).toBeTypeOf('number');
      expect(chunked[split].roc_auc).toBeCloseTo(whole[split].roc_auc, 4);
      expect(chunked[split].accuracy).toBeCloseTo(whole[split].accuracy, 4);
    }
    expect(chunked.quantization.top1_agreement).toBeCloseTo(whole.quantization.top1_agreement, 4);
  }, 120_000);

  it('serve --int8 answers /api/predict from the int8 model', async () => {
    const app = buildServer(runDir, { threads: 1, int8: true });
    try {
      const url = await listenLocal(app);
      const [want] = await predictImages(runDir, [files[0]!], { threads: 1 });
      const r = await fetch(`${url}/api/predict`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: readFileSync(files[0]!) });
      expect(r.status).toBe(200);
      const { results } = (await r.json()) as { results: { label: string; probabilities: Record<string, number> }[] };
      expect(results[0]!.label).toBe(want!.error ? undefined : want!.label);
      const pf = want!.error ? {} : want!.probabilities;
      const diffs = Object.keys(pf).map((k) => Math.abs(results[0]!.probabilities[k]! - pf[k]!));
      expect(Math.max(...diffs)).toBeLessThan(0.1);
      expect(Math.max(...diffs)).toBeGreaterThan(0); // not the float session
    } finally {
      await app.close();
    }
  });

  it('batch predict --int8 writes predictions from the int8 model', async () => {
    const outFile = (n: string) => join(pngDir, `${n}.csv`);
    const f = await batchPredict({ run: runDir, sources: files, out: outFile('float'), chunkSize: 4, threads: 1 });
    const q = await batchPredict({ run: runDir, sources: files, out: outFile('int8'), chunkSize: 4, threads: 1, int8: true });
    expect([f.inputs, q.inputs]).toEqual([files.length, files.length]);
    const a = readFileSync(outFile('float'), 'utf8').trim().split('\n');
    const b = readFileSync(outFile('int8'), 'utf8').trim().split('\n');
    expect(b[0]).toBe(a[0]);
    expect(b.length).toBe(a.length);
    expect(b.slice(1).join('\n')).not.toBe(a.slice(1).join('\n')); // other probabilities: the int8 session answered
  });

  it('--reduce-range off writes full-range weights; int8SaturationWarning (serve, batch predict) names them only where the CPU saturates', async () => {
    const off = await exportInt8(runDir, { images: 64, threads: 1, reduceRange: 'off', evaluate: false });
    expect(off.comparison).toBeUndefined();
    expect(int8SaturationWarning(runDir, true)).toMatch(/full-range int8 weights .* --reduce-range on/);
    expect(int8SaturationWarning(runDir, false)).toBeUndefined();
    // a queue worker's chunk runner reports it once per run, by this CPU
    const plan = planBatch(runDir, files, join(pngDir, 'warn.csv'), { calibrate: true, conformal: 'lac', batchSize: 32, int8: true }, 4);
    const warnings: string[] = [];
    const runner = new ChunkRunner({ threads: 1, worker: 'test', onWarning: (m) => warnings.push(m) });
    for (const i of [0, 1]) await runner.run(chunkJob(plan, i), `warn-${i}`, 1);
    expect(warnings).toHaveLength(int8MaySaturate() ? 1 : 0);
    await exportInt8(runDir, { images: 64, threads: 1, reduceRange: 'on', evaluate: false });
    expect(int8SaturationWarning(runDir, true)).toBeUndefined();
  });
});
