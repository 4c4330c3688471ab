// Depthwise 3×3 conv (group = C) on small maps as per-channel matrix products ("Toeplitz"), each timed in its own
// session (min of `runs` after one warm-up) beside the Conv formulations, outputs checked against them:
//   fwd_conv / fwd_tz   Y by the grouped Conv, or by X as [C, N, H·W] times T[c] = the [H·W, Ho·Wo] matrix of
//                       channel c's kernel (built by one MatMul of W with a constant 0/1 selection matrix);
//   dx_conv / dx_tz     dX by the flipped-kernel Conv (stride 1) or ConvTranspose (stride 2), or dY·T[c]ᵀ;
//   dw_grouped          dW by the grouped Conv with dY as the kernel (the rule below 100 positions or at stride 2);
//   dw_tz               dW = (X[c]ᵀ·dY[c]) [H·W·Ho·Wo] times the transposed selection matrix (the rule since this bench);
//   dw_tzg              the same product, the kernel offsets' entries taken by one Gather, masked and summed;
//   dw_windows          9 × Slice(padded X) · dY, summed (the rule at stride 1 from 100 positions before dw_rows);
//   dw_rows             per kernel row one MatMul of X's rows and dY's (the rule at stride 1 on larger maps);
//   dx_phases, dx_zeroins, dx_rows  stride-2 dX by 4 phase Convs + DepthToSpace, by zero insertion + a stride-1 Conv,
//                       or per kernel row a MatMul of dY's rows with the row's [Wo, Wp] matrix (none beat ConvTranspose).
// Args: [threads=2] [runs=5]; DW_SHAPES='N,C,H,stride;…' (default: MobileNetV2-224's 7×7, 14×14 and one 28×28 shape).
import { loadavg } from 'node:os';
import { attr, f32 } from '../src/engine/index.js';
import type { Emitter, Graph } from '../src/engine/index.js';
import { maxRelDiff, randomFeeds, timeVariants, variantGraph } from './graph-variants.js';
const threads = Number(process.argv[2] ?? 2), runs = Number(process.argv[3] ?? 5);
const ONLY = process.env.DW_VARIANTS?.split(',');
const SHAPES = (process.env.DW_SHAPES ?? '32,960,7,1;32,576,14,2;32,384,14,1;32,576,14,1;32,192,28,2').split(';').map((s) => s.split(',').map(Number) as [number, number, number, number]);
for (const [N, C, H, S] of SHAPES) {
  const pads = S === 1 ? [1, 1, 1, 1] : [0, 0, 1, 1];
  const Ho = Math.floor((H + pads[0]! + pads[2]! - 3) / S) + 1, P = Ho * Ho, HW = H * H;
  const small = HW * P <= 4 * 196 * 196;
  const sel = new Float32Array(small ? 9 * HW * P : 0);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let ho = 0; ho < Ho; ho++) for (let wo = 0; wo < Ho; wo++) {
    const hi = ho * S + i - pads[0]!, wi = wo * S + j - pads[1]!;
    if (!small || hi < 0 || wi < 0 || hi >= H || wi >= H) continue;
    sel[(i * 3 + j) * HW * P + (hi * H + wi) * P + ho * Ho + wo] = 1;
  }
  const selT = new Float32Array(small ? 9 * HW * P : 0);
  if (small) for (let k = 0; k < 9; k++) for (let q = 0; q < HW * P; q++) selT[q * 9 + k] = sel[k * HW * P + q]!;
  const gidx: number[] = [], gmask: number[] = [];
  for (let k = 0; k < 9; k++) for (let q = 0; q < P; q++) {
    const i = Math.floor(k / 3), j = k % 3, ho = Math.floor(q / Ho), wo = q % Ho;
    const hi = ho * S + i - pads[0]!, wi = wo * S + j - pads[1]!;
    const ok = hi >= 0 && wi >= 0 && hi < H && wi < H;
    gidx.push(ok ? (hi * H + wi) * P + q : 0); gmask.push(ok ? 1 : 0);
  }
  // rows: per kernel row i, the padded X's rows oh·s + i against dY's rows, (N, Ho) contracted by a batched MatMul
  // over channels ([Wp, Wo] per channel), the kernel columns' diagonals summed by a selection MatMul
  const Wp = H + pads[1]! + pads[3]!;
  const rsel = new Float32Array(3 * Wp * Ho * 9);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let wo = 0; wo < Ho; wo++) rsel[((i * Wp + wo * S + j) * Ho + wo) * 9 + i * 3 + j] = 1;
  const make = (build: (e: Emitter) => string): Graph => variantGraph('dw', [
    { name: 'X', dtype: 'float32', dims: [N, C, H, H] }, { name: 'W', dtype: 'float32', dims: [C, 1, 3, 3] }, { name: 'dY', dtype: 'float32', dims: [N, C, Ho, Ho] }], build);
  const conv = { kernel_shape: attr.ints([3, 3]), pads: attr.ints(pads), strides: attr.ints([S, S]), group: attr.int(C) };
  const T = (e: Emitter) => e.reshape(e.op('MatMul', [e.reshape('W', [C, 9]), e.constant(f32(sel, [9, HW * P]), 'sel')]), [C, HW, P]);
  const cn = (e: Emitter, v: string, hw: number) => e.reshape(e.transpose(v, [1, 0, 2, 3]), [C, -1, hw]);
  const nc = (e: Emitter, v: string, h: number) => e.transpose(e.reshape(v, [C, -1, h, h]), [1, 0, 2, 3]);
  // the per-channel [H·W, Ho·Wo] matrices are only built on small maps
  const makeTz = (build: (e: Emitter) => string): Graph | undefined => (small ? make(build) : undefined);
  const variants: Record<string, Graph | undefined> = {
    fwd_conv: make((e) => e.op('Conv', ['X', 'W'], conv)),
    fwd_tz: makeTz((e) => nc(e, e.op('MatMul', [cn(e, 'X', HW), T(e)]), Ho)),
    dx_conv: make((e) => (S === 1
      ? e.op('Conv', ['dY', e.op('Slice', ['W', e.ints([-1, -1]), e.ints([-(2 ** 31), -(2 ** 31)]), e.ints([2, 3]), e.ints([-1, -1])])], { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]), group: attr.int(C) })
      : e.op('Slice', [e.op('ConvTranspose', ['dY', 'W'], { strides: attr.ints([S, S]), group: attr.int(C), pads: attr.ints([0, 0, 0, 0]), kernel_shape: attr.ints([3, 3]) }), e.ints([0, 0]), e.ints([H, H]), e.ints([2, 3])]))),
    dx_tz: makeTz((e) => nc(e, e.op('MatMul', [cn(e, 'dY', P), e.transpose(T(e), [0, 2, 1])]), H)),
    // dX of a stride-2 conv by its 4 phases: per phase a stride-1 depthwise Conv of dY with the flipped sub-kernel,
    // the phases interleaved by DepthToSpace (DCR), cropped to X
    ...(S === 2 ? { dx_phases: make((e) => {
      const parts: string[] = [];
      for (let rh = 0; rh < 2; rh++) for (let rw = 0; rw < 2; rw++) {
        const [mh, mw] = [rh === 0 ? 2 : 1, rw === 0 ? 2 : 1];
        const sub = e.op('Slice', ['W', e.ints([rh, rw]), e.ints([3, 3]), e.ints([2, 3]), e.ints([2, 2])]);
        const flip = e.op('Slice', [sub, e.ints([-1, -1]), e.ints([-(2 ** 31), -(2 ** 31)]), e.ints([2, 3]), e.ints([-1, -1])]);
        parts.push(e.op('Conv', ['dY', flip], { kernel_shape: attr.ints([mh, mw]), group: attr.int(C), pads: attr.ints([mh - 1, mw - 1, 1, 1]) }));
      }
      const d2s = e.op('DepthToSpace', [e.op('Concat', parts, { axis: attr.int(1) })], { blocksize: attr.int(2), mode: attr.string('DCR') });
      return e.op('Slice', [d2s, e.ints([pads[0]!, pads[1]!]), e.ints([pads[0]! + H, pads[1]! + H]), e.ints([2, 3])]);
    }) } : {}),
    // dX of a stride-2 conv by zero insertion: dY spread to every other position by Pad, then the stride-1 full
    // correlation with the flipped kernel, cropped to X
    ...(S === 2 ? { dx_zeroins: make((e) => {
      const up = e.reshape(e.op('Pad', [e.reshape('dY', [-1, C, Ho, 1, Ho, 1]), e.ints([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1])]), [-1, C, 2 * Ho, 2 * Ho]);
      const flip = e.op('Slice', ['W', e.ints([-1, -1]), e.ints([-(2 ** 31), -(2 ** 31)]), e.ints([2, 3]), e.ints([-1, -1])]);
      const full = e.op('Conv', [up, flip], { kernel_shape: attr.ints([3, 3]), group: attr.int(C), pads: attr.ints([2 - pads[0]!, 2 - pads[1]!, 0, 0]) });
      return e.op('Slice', [full, e.ints([0, 0]), e.ints([H, H]), e.ints([2, 3])]);
    }) } : {}),
    // dX of a stride-2 conv by kernel rows: per row i, dY's rows times the [Wo, Wp] matrix of kernel row i (a batched
    // MatMul over channels), rows 2·oh + i: even rows R0[q] + R2[q − 1], odd rows R1[q], interleaved, cropped
    ...(S === 2 ? { dx_rows: make((e) => {
      const Q = Ho + 1;
      const tsel = new Float32Array(9 * 3 * Ho * Wp);
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let ow = 0; ow < Ho; ow++) tsel[(i * 3 + j) * 3 * Ho * Wp + (i * Ho + ow) * Wp + ow * 2 + j] = 1;
      const t = e.reshape(e.op('MatMul', [e.reshape('W', [C, 9]), e.constant(f32(tsel, [9, 3 * Ho * Wp]), 'tsel')]), [C, 3, Ho, Wp]);
      const dyc = e.reshape(e.transpose('dY', [1, 0, 2, 3]), [C, -1, Ho]);
      const r = [0, 1, 2].map((i) => e.reshape(e.op('MatMul', [dyc, e.op('Squeeze', [e.op('Slice', [t, e.ints([i]), e.ints([i + 1]), e.ints([1])]), e.ints([1])])]), [C, -1, Ho, Wp]));
      const even = e.op('Add', [e.op('Pad', [r[0]!, e.ints([0, 0, 0, 0, 0, 0, 1, 0])]), e.op('Pad', [r[2]!, e.ints([0, 0, 1, 0, 0, 0, 0, 0])])]);
      const odd = e.op('Pad', [r[1]!, e.ints([0, 0, 0, 0, 0, 0, 1, 0])]);
      const inter = e.reshape(e.op('Concat', [e.op('Unsqueeze', [even, e.ints([3])]), e.op('Unsqueeze', [odd, e.ints([3])])], { axis: attr.int(3) }), [C, -1, 2 * Q, Wp]);
      const crop = e.op('Slice', [inter, e.ints([pads[0]!, pads[1]!]), e.ints([pads[0]! + H, pads[1]! + H]), e.ints([2, 3])]);
      return e.transpose(crop, [1, 0, 2, 3]);
    }) } : {}),
    dw_grouped: make((e) => {
      const xr = e.reshape(e.transpose('X', [1, 0, 2, 3]), [1, -1, H, H]);
      const dwc = e.op('Conv', [xr, e.transpose('dY', [1, 0, 2, 3])], { strides: attr.ints([1, 1]), dilations: attr.ints([S, S]), group: attr.int(C), pads: attr.ints(pads), kernel_shape: attr.ints([Ho, Ho]) });
      return e.transpose(e.op('Slice', [dwc, e.ints([0, 0]), e.ints([3, 3]), e.ints([2, 3])]), [1, 0, 2, 3]);
    }),
    dw_tz: makeTz((e) => {
      const dT = e.op('MatMul', [e.transpose(cn(e, 'X', HW), [0, 2, 1]), cn(e, 'dY', P)]);
      return e.reshape(e.op('MatMul', [e.reshape(dT, [C, HW * P]), e.constant(f32(selT, [HW * P, 9]), 'selT')]), [C, 1, 3, 3]);
    }),
    dw_tzg: makeTz((e) => {
      const dT = e.op('MatMul', [e.transpose(cn(e, 'X', HW), [0, 2, 1]), cn(e, 'dY', P)]);
      const g = e.op('Mul', [e.op('Gather', [e.reshape(dT, [C, HW * P]), e.ints(gidx)], { axis: attr.int(1) }), e.constant(f32(Float32Array.from(gmask), [9 * P]), 'm')]);
      return e.reshape(e.op('ReduceSum', [e.reshape(g, [C, 9, P]), e.ints([2])], { keepdims: attr.int(0) }), [C, 1, 3, 3]);
    }),
    dw_windows: make((e) => {
      const xp = e.op('Pad', ['X', e.ints([0, 0, pads[0]!, pads[1]!, 0, 0, pads[2]!, pads[3]!])]);
      const parts: string[] = [];
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
        const w = e.op('Slice', [xp, e.ints([i, j]), e.ints([i + (Ho - 1) * S + 1, j + (Ho - 1) * S + 1]), e.ints([2, 3]), e.ints([S, S])]);
        parts.push(e.op('ReduceSum', [e.op('Mul', [w, 'dY']), e.ints([2, 3])], { keepdims: attr.int(1) }));
      }
      return e.reshape(e.op('ReduceSum', [e.op('Concat', parts, { axis: attr.int(2) }), e.ints([0])], { keepdims: attr.int(0) }), [C, 1, 3, 3]);
    }),
    dw_rows: make((e) => {
      const xp = e.op('Pad', [e.transpose('X', [1, 0, 2, 3]), e.ints([0, 0, pads[0]!, pads[1]!, 0, 0, pads[2]!, pads[3]!])]);
      const dyc = e.reshape(e.transpose('dY', [1, 0, 2, 3]), [C, -1, Ho]);
      const parts = [0, 1, 2].map((i) => {
        const xi = e.reshape(e.op('Slice', [xp, e.ints([i]), e.ints([i + (Ho - 1) * S + 1]), e.ints([2]), e.ints([S])]), [C, -1, Wp]);
        return e.reshape(e.op('MatMul', [e.transpose(xi, [0, 2, 1]), dyc]), [C, Wp * Ho]);
      });
      return e.reshape(e.op('MatMul', [e.op('Concat', parts, { axis: attr.int(1) }), e.constant(f32(rsel, [3 * Wp * Ho, 9]), 'rsel')]), [C, 1, 3, 3]);
    }),
  };
  for (const k of Object.keys(variants)) if (!variants[k] || (ONLY && !ONLY.includes(k) && k !== 'dw_grouped')) delete variants[k];
  const feeds = randomFeeds({ X: [N, C, H, H], W: [C, 1, 3, 3], dY: [N, C, Ho, Ho] });
  const l0 = loadavg()[0]!;
  const { minMs, minCpuMs, out } = await timeVariants(variants as Record<string, Graph>, feeds, threads, runs);
  console.log(JSON.stringify({ name: 'engine-depthwise-toeplitz', config: { N, C, H, stride: S, threads, runs }, min_ms: minMs, min_cpu_ms: minCpuMs, err: { fwd: maxRelDiff(out.fwd_tz, out.fwd_conv), dxp: maxRelDiff(out.dx_phases, out.dx_conv), dxz: maxRelDiff(out.dx_zeroins, out.dx_conv), dxr: maxRelDiff(out.dx_rows, out.dx_conv), dx: maxRelDiff(out.dx_tz, out.dx_conv), dw: maxRelDiff(out.dw_tz, out.dw_grouped), dwg: maxRelDiff(out.dw_tzg, out.dw_grouped), rows: maxRelDiff(out.dw_rows, out.dw_grouped) }, load: [l0, loadavg()[0]] }));
}
