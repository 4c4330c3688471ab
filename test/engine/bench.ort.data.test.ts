import { describe, expect, it } from 'vitest';
import { ParameterStore, Rng, benchInfer, benchTrain, loadModel, peakRssMb, profileByOp } from '../../src/engine/index.js';

const shared = new URL('../../../shared/', import.meta.url);
const fixture = (c: string) => new URL(`fixtures/autodiff/${c}/model.onnx`, shared).pathname;

describe('bench', () => {
  it('sums a Chrome-trace profile by op type, leaving out the warm-up runs', () => {
    const node = (op: string, ts: number, dur: number) => ({ cat: 'Node', name: `${op}_${ts}_kernel_time`, ts, dur, args: { op_name: op } });
    const trace = [
      { cat: 'Session', name: 'model_run', ts: 0, dur: 50 }, node('Conv', 1, 9000),
      { cat: 'Session', name: 'model_run', ts: 100, dur: 50 }, node('Conv', 101, 3000), node('Relu', 102, 1000),
      { cat: 'Session', name: 'model_run', ts: 200, dur: 50 }, node('Conv', 201, 5000), node('Relu', 202, 1000),
    ];
    expect(profileByOp(JSON.stringify(trace), 1)).toEqual([
      { op: 'Conv', ms: 4, share: 0.8, nodes: 1 },
      { op: 'Relu', ms: 1, share: 0.2, nodes: 1 },
    ]);
  });

  it('times inference of an ONNX file and profiles it by op type', async () => {
    const r = await benchInfer('small_cnn', loadModel(fixture('small_cnn')), { batch: 4, steps: 3, warmup: 1, threads: 1, profile: true, rng: new Rng(0) });
    expect(r).toMatchObject({ mode: 'infer', batch: 4, steps: 3, threads: 1 });
    // img/s = batch / median; both are rounded to 0.01, which matters when a tiny batch takes well under 1 ms
    expect(Math.abs((r.img_per_s * r.median_ms) / 4000 - 1)).toBeLessThanOrEqual(0.005 / r.median_ms + 0.01);
    expect(r.min_ms).toBeLessThanOrEqual(r.median_ms);
    expect(r.max_ms).toBeGreaterThanOrEqual(r.median_ms);
    expect(r.profile!.map((p) => p.op)).toContain('Gemm');
    expect(r.profile!.reduce((s, p) => s + p.share, 0)).toBeCloseTo(1, 2);
    expect(r.peak_rss_mb).toBeGreaterThan(10);
    expect(peakRssMb()).toBeGreaterThanOrEqual(r.peak_rss_mb);
  });

  it('times full training steps (the parameters change) and profiles the training graph', async () => {
    const graph = loadModel(fixture('small_cnn'));
    const params = ParameterStore.fromGraph(graph);
    const before = params.names().map((n) => params.get(n).data.slice());
    const r = await benchTrain({ name: 'small_cnn', graph, params, inputDims: [3, 16, 16], numClasses: 4 },
      { batch: 4, steps: 2, warmup: 1, threads: 1, profile: true, rng: new Rng(0) });
    expect(r).toMatchObject({ mode: 'train', model: 'small_cnn', batch: 4, steps: 2 });
    expect(r.run_median_ms).toBeGreaterThan(0);
    expect(r.update_median_ms).toBeGreaterThanOrEqual(0);
    expect(params.names().some((n, i) => params.get(n).data.some((v, j) => v !== before[i]![j]))).toBe(true);
    // the backward pass shows up: Conv gradients (Conv, ConvTranspose or Gemm) besides the forward ops
    expect(r.profile!.length).toBeGreaterThan(4);
  });

  it('groups a training profile by the rule that emitted each node (profileByRule)', async () => {
    const graph = loadModel(fixture('small_cnn'));
    const params = ParameterStore.fromGraph(graph);
    const r = await benchTrain({ name: 'small_cnn', graph, params, inputDims: [3, 16, 16], numClasses: 4 },
      { batch: 4, steps: 1, warmup: 1, threads: 1, profile: true, profileByRule: true, rng: new Rng(0) });
    const groups = r.profile!.map((p) => p.op);
    expect(groups.some((op) => op.startsWith('fwd Conv'))).toBe(true);
    expect(groups.some((op) => /^grad Conv d[WX] /.test(op))).toBe(true);
    expect(groups.every((op) => /^(fwd |grad |NCHWc )|\(made by onnxruntime\)$/.test(op)), groups.join(', ')).toBe(true);
  });
});
