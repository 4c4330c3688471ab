import { gemmAttrs } from '../../graph/op-attrs.js';
import { attr } from '../../graph/types.js';
import type { GradEmitter, RuleTable } from '../grad-emitter.js';

/** Swaps the last two axes of a value of rank `rank`. */
function swapLast(g: GradEmitter, v: string, rank: number): string {
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
  return g.transpose(v, perm);
}

/** Matrix products. MatMul handles 1-D operands and broadcast batch dims (summed back to each operand's dims). */
export const matmulRules = {
  MatMul: (n, [dY], g) => {
    const [a, b] = [n.input(0), n.input(1)];
    const ad = n.inDims(0), bd = n.inDims(1), yd = n.outDims(0);
    // Promote 1-D operands to matrices as the ONNX spec does, and give dY the matching matrix dims.
    const a2d = ad.length === 1 ? [1, ad[0]!] : ad;
    const b2d = bd.length === 1 ? [bd[0]!, 1] : bd;
    const a2 = ad.length === 1 ? g.reshape(a, a2d) : a;
    const b2 = bd.length === 1 ? g.reshape(b, b2d) : b;
    const batch = yd.slice(0, yd.length - (ad.length === 1 ? 0 : 1) - (bd.length === 1 ? 0 : 1));
    const y2d = [...batch, a2d[a2d.length - 2]!, b2d[b2d.length - 1]!];
    const dY2 = y2d.length === yd.length && y2d.every((d, i) => d === yd[i]) ? dY! : g.reshape(dY!, y2d);
    const r = y2d.length;
    const bT = swapLast(g, b2, b2d.length), aT = swapLast(g, a2, a2d.length);
    const daFull = g.matmul(dY2, bT);
    const dbFull = g.matmul(aT, dY2);
    const da = g.unbroadcast(daFull, [...y2d.slice(0, r - 2), a2d[a2d.length - 2]!, a2d[a2d.length - 1]!], a2d);
    const db = g.unbroadcast(dbFull, [...y2d.slice(0, r - 2), b2d[b2d.length - 2]!, b2d[b2d.length - 1]!], b2d);
    return [ad.length === 1 ? g.reshape(da, ad) : da, bd.length === 1 ? g.reshape(db, bd) : db];
  },
  // Y = alpha·A'·B' + beta·C with A' = transA ? Aᵀ : A (and B' likewise).
  Gemm: (n, [dY], g) => {
    const { alpha, beta, transA, transB } = gemmAttrs(n.node);
    const [a, b] = [n.input(0), n.input(1)];
    const gemm = (x: string, y: string, tA: boolean, tB: boolean) =>
      g.op('Gemm', [x, y], { alpha: attr.float(alpha), transA: attr.int(tA ? 1 : 0), transB: attr.int(tB ? 1 : 0) });
    // dA' = alpha·dY·B'ᵀ, so dA = transA ? alpha·B'·dYᵀ : alpha·dY·B'ᵀ
    const da = transA ? gemm(b, dY!, transB, true) : gemm(dY!, b, false, !transB);
    // dB' = alpha·A'ᵀ·dY, so dB = transB ? alpha·dYᵀ·A' : alpha·A'ᵀ·dY
    const db = transB ? gemm(dY!, a, true, transA) : gemm(a, dY!, !transA, false);
    let dc: string | undefined;
    if (n.has(2)) {
      const scaled = beta === 1 ? dY! : g.mul(dY!, g.scalar(beta));
      dc = g.unbroadcast(scaled, n.outDims(0), n.inDims(2));
    }
    return [da, db, dc];
  },
} satisfies RuleTable;
