// Weight formats under reduceRange: the 7-bit range where onnxruntime's u8·s8 GEMM kernels can saturate (x86 without
// VNNI), the full range where its kernels cannot — depthwise Convs (MLAS widens to 16 bits) and uint8 weights (the
// u8·u8 kernel). Checked on this CPU: onnxruntime's fused int8 kernels against the unfused QDQ arithmetic
// (optimization 'basic' runs QuantizeLinear, DequantizeLinear and the float Conv as the graph says).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pkg from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Session, hasFullRangeWeights, int8MaySaturate, planQdq, rewriteQdq, saveModel, weightFormat, type Graph, type QuantRange } from '../../src/engine/index.js';
import { attr } from '../../src/engine/graph/types.js';

const { onnx } = pkg;

let seed = 11;
const rand = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
const fill = (n: number, lo: number, hi: number) => Float32Array.from({ length: n }, () => lo + (hi - lo) * rand());

const N = 4, H = 10;

/** x [N, C, H, H] → Conv(w [K, C/group, 3, 3], group) → y */
function convGraph(c: number, k: number, group: number): Graph {
  return {
    name: 'conv', opset: 17, valueInfo: new Map(),
    inputs: [{ name: 'x', dtype: 'float32', dims: ['n', c, H, H] }],
    outputs: [{ name: 'y', dtype: 'float32', dims: ['n', k, H, H] }],
    initializers: new Map([['w', { dtype: 'float32', dims: [k, c / group, 3, 3], data: fill(k * (c / group) * 9, -1, 1) }]]),
    nodes: [{ opType: 'Conv', name: 'conv', domain: '', inputs: ['x', 'w'], outputs: ['y'], attrs: { group: attr.int(group), pads: attr.ints([1, 1, 1, 1]), kernel_shape: attr.ints([3, 3]) } }],
  };
}

// inputs over the whole uint8 range and full-range weights: the products VPMADDUBSW's 16-bit pair sums clamp
const range: QuantRange = { min: 0, max: 2.5 };
/** The largest difference of the fused int8 model's output from the QDQ arithmetic, in steps of y's quantization. */
async function fusedVsQdq(g: Graph, c: number, opts: { reduceRange: boolean; uint8Stem: boolean }): Promise<number> {
  const plan = { ...planQdq(g, { floatStem: false, reduceRange: opts.reduceRange }) };
  if (!opts.uint8Stem) delete plan.uint8Weights;
  const x = { x: { dtype: 'float32' as const, dims: [N, c, H, H], data: fill(N * c * H * H, 0, 2.5) } };
  const out = async (graph: Graph, optimization: 'basic' | 'all', y = 'y') => {
    const s = await Session.create(saveModel(graph), { threads: 1, optimization });
    try { return (await s.run(x, [y]))[y]!.data as Float32Array; } finally { await s.dispose(); }
  };
  // y quantized with its range from the float model and read after its DequantizeLinear (not as the Conv's float
  // output), so onnxruntime fuses DQ → Conv → Q into one QLinearConv
  const yf = await out(g, 'basic');
  const yr = { min: Math.min(...yf), max: Math.max(...yf) };
  rewriteQdq(g, plan, new Map([['x', range], ['y', yr]]));
  g.nodes.push({ opType: 'Identity', name: 'out', domain: '', inputs: ['y_dequantized'], outputs: ['out'], attrs: {} });
  g.outputs = [{ ...g.outputs[0]!, name: 'out' }];
  const dir = mkdtempSync(join(tmpdir(), 'mc-qfmt-'));
  try {
    writeFileSync(join(dir, 'q.onnx'), saveModel(g));
    const s = await ort.InferenceSession.create(join(dir, 'q.onnx'), { intraOpNumThreads: 1, optimizedModelFilePath: join(dir, 'opt.onnx'), logSeverityLevel: 3 });
    await s.release();
    expect(onnx.ModelProto.decode(readFileSync(join(dir, 'opt.onnx'))).graph!.node!.map((n) => n.opType)).toContain('QLinearConv');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const [q, ref] = [await out(g, 'all', 'out'), await out(g, 'basic', 'out')];
  let d = 0;
  for (let i = 0; i < q.length; i++) d = Math.max(d, Math.abs(q[i]! - ref[i]!));
  return d / ((Math.max(0, yr.max) - Math.min(0, yr.min)) / 255);
}

describe('int8 weight formats under reduceRange', () => {
  it('weightFormat: 7-bit for a group-1 Conv, full range for a depthwise Conv and for the stem, stored uint8', () => {
    const dw = convGraph(8, 8, 8), full = convGraph(4, 8, 1);
    const plan = planQdq(full, { floatStem: false, reduceRange: true });
    expect(plan.uint8Weights).toEqual(['w']);
    expect(weightFormat(plan, full.nodes[0]!, full.initializers.get('w')!)).toEqual({ unsigned: true, qmax: 127 });
    expect(weightFormat({ ...plan, uint8Weights: [] }, full.nodes[0]!, full.initializers.get('w')!)).toEqual({ unsigned: false, qmax: 64 });
    expect(weightFormat({ ...plan, uint8Weights: [] }, dw.nodes[0]!, dw.initializers.get('w')!)).toEqual({ unsigned: false, qmax: 127 });
    expect(planQdq(full, { floatStem: false }).uint8Weights).toBeUndefined();
    expect(weightFormat(planQdq(full, { floatStem: false }), full.nodes[0]!, full.initializers.get('w')!)).toEqual({ unsigned: false, qmax: 127 });
  });

  it('a depthwise Conv with full-range int8 weights: the fused kernel computes the QDQ arithmetic on this CPU', async () => {
    const g = convGraph(16, 16, 16);
    expect(await fusedVsQdq(g, 16, { reduceRange: true, uint8Stem: false })).toBeLessThanOrEqual(1.01);
    expect(Math.max(...(g.initializers.get('w_quantized')!.data as Int8Array))).toBeGreaterThan(64);
    // full range, but nothing that can saturate reads it
    expect(hasFullRangeWeights(g)).toBe(false);
  });

  it('a 16-input-channel Conv: uint8 full-range weights are exact; int8 full-range ones saturate where int8MaySaturate', async () => {
    const u8 = convGraph(16, 16, 1);
    expect(await fusedVsQdq(u8, 16, { reduceRange: true, uint8Stem: true })).toBeLessThanOrEqual(1.01);
    expect(u8.initializers.get('w_quantized')!.dtype).toBe('uint8');
    expect(hasFullRangeWeights(u8)).toBe(false);
    const s8 = convGraph(16, 16, 1);
    const off = await fusedVsQdq(s8, 16, { reduceRange: false, uint8Stem: false });
    expect(hasFullRangeWeights(s8)).toBe(true);
    if (int8MaySaturate()) expect(off).toBeGreaterThan(3);
    else expect(off).toBeLessThanOrEqual(1.01);
    const reduced = convGraph(16, 16, 1);
    expect(await fusedVsQdq(reduced, 16, { reduceRange: true, uint8Stem: false })).toBeLessThanOrEqual(1.01);
  });
});
