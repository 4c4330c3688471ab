// Conv backward formulations on ResNet-18-28 layer shapes (3×3, pad 1), each timed in its own session (min of 7 runs):
// dW by Conv over batch↔channel-transposed tensors vs 9 Gemms over shifted slices (transB, reduction over N·H·W);
// dX by ConvTranspose vs Conv with the spatially flipped, in/out-transposed kernel (stride 1 only).
// Prints one JSON line per shape. Args: [threads=1].
import { cpus } from 'node:os';
import { Emitter, Rng, Session, attr, f32 } from '../src/engine/index.js';
import type { Graph, Tensor } from '../src/engine/index.js';

const threads = Number(process.argv[2] ?? 1);
const SHAPES: [n: number, c: number, k: number, h: number, s: number][] = [
  [128, 64, 64, 28, 1], [128, 128, 128, 14, 1], [128, 256, 256, 7, 1], [128, 512, 512, 4, 1], [128, 64, 128, 28, 2],
];

for (const [N, C, K, H, S] of SHAPES) {
  const Ho = Math.floor((H + 2 - 3) / S) + 1;
  const make = (build: (e: Emitter) => string): Graph => {
    const g: Graph = {
      name: 'conv-grad', nodes: [], outputs: [], initializers: new Map(), valueInfo: new Map(), opset: 17,
      inputs: [{ name: 'X', dtype: 'float32', dims: [N, C, H, H] }, { name: 'W', dtype: 'float32', dims: [K, C, 3, 3] }, { name: 'dY', dtype: 'float32', dims: [N, K, Ho, Ho] }],
    };
    const e = new Emitter(g, 'b');
    g.outputs.push({ name: build(e), dtype: 'float32', dims: [] });
    g.inputs = g.inputs.filter((v) => g.nodes.some((n) => n.inputs.includes(v.name)));
    return g;
  };
  const conv = { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]), strides: attr.ints([S, S]) };
  const variants: Record<string, Graph> = {
    forward: make((e) => e.op('Conv', ['X', 'W'], conv)),
    dW_conv: make((e) => {
      const r = e.op('Conv', [e.transpose('X', [1, 0, 2, 3]), e.transpose('dY', [1, 0, 2, 3])], { pads: attr.ints([1, 1, 1, 1]), dilations: attr.ints([S, S]) });
      return e.op('Slice', [e.transpose(r, [1, 0, 2, 3]), e.ints([0, 0]), e.ints([3, 3]), e.ints([2, 3])]);
    }),
    dW_gemm9: make((e) => {
      const xt = e.transpose(e.op('Pad', ['X', e.ints([0, 0, 1, 1, 0, 0, 1, 1])]), [1, 0, 2, 3]);
      const dyT = e.reshape(e.transpose('dY', [1, 0, 2, 3]), [K, N * Ho * Ho]);
      const parts: string[] = [];
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
        const end = [i + (Ho - 1) * S + 1, j + (Ho - 1) * S + 1];
        const sl = e.reshape(e.op('Slice', [xt, e.ints([i, j]), e.ints(end), e.ints([2, 3]), e.ints([S, S])]), [C, N * Ho * Ho]);
        parts.push(e.op('Unsqueeze', [e.op('Gemm', [dyT, sl], { transB: attr.int(1) }), e.ints([2])]));
      }
      return e.reshape(e.op('Concat', parts, { axis: attr.int(2) }), [K, C, 3, 3]);
    }),
    dX_convtranspose: make((e) => e.op('ConvTranspose', ['dY', 'W'], { ...conv, output_padding: attr.ints([(H - 1) % S, (H - 1) % S]) })),
    ...(S === 1 ? {
      dX_conv_flipped: make((e) => {
        const wf = e.op('Slice', ['W', e.ints([-1, -1]), e.ints([-4, -4]), e.ints([2, 3]), e.ints([-1, -1])]);
        return e.op('Conv', ['dY', e.transpose(wf, [1, 0, 2, 3])], { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) });
      }),
    } : {}),
  };
  const rng = new Rng(1);
  const rnd = (dims: number[]) => f32(Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal()), dims);
  const feeds: Record<string, Tensor> = { X: rnd([N, C, H, H]), W: rnd([K, C, 3, 3]), dY: rnd([N, K, Ho, Ho]) };
  const minMs: Record<string, number> = {};
  const out: Record<string, Float32Array> = {};
  for (const [name, g] of Object.entries(variants)) {
    const s = await Session.create(g, { threads });
    try {
      const f = Object.fromEntries(g.inputs.map((v) => [v.name, feeds[v.name]!]));
      let best = Infinity;
      for (let i = 0; i < 8; i++) {
        const t = performance.now();
        const r = await s.run(f);
        if (i > 0) best = Math.min(best, performance.now() - t);
        out[name] = r[g.outputs[0]!.name]!.data as Float32Array;
      }
      minMs[name] = +best.toFixed(1);
    } finally {
      await s.dispose();
    }
  }
  const rel = (a?: Float32Array, b?: Float32Array) => {
    if (!a || !b) return undefined;
    let m = 0, sc = 0;
    for (let i = 0; i < a.length; i++) { m = Math.max(m, Math.abs(a[i]! - b[i]!)); sc = Math.max(sc, Math.abs(b[i]!)); }
    return +(m / sc).toExponential(1);
  };
  console.log(JSON.stringify({
    name: 'engine-conv-grad', config: { N, C, K, H, stride: S, threads }, min_ms: minMs,
    rel_err: { dW_gemm9: rel(out.dW_gemm9, out.dW_conv), dX_conv_flipped: rel(out.dX_conv_flipped, out.dX_convtranspose) },
    cpu: cpus()[0]?.model, cores: cpus().length, node: process.version,
  }));
}
