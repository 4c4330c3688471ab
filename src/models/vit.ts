import type { LayerBuilder, Sym } from '../engine/index.js';
import { fuseTabular } from './fusion.js';

/** Settings of the small vision transformer. */
export interface VitConfig {
  /** Square patch size; the input size must be a multiple of it. */
  patch: number;
  /** Token width. */
  dim: number;
  /** Transformer blocks. */
  depth: number;
  heads: number;
  /** MLP hidden width = mlpRatio · dim. */
  mlpRatio: number;
  dropout: number;
  numClasses: number;
  /** Tabular features F fused with the class token (input `tab` [N,F]; 0 = image only). */
  tabular?: number;
}

const TRUNC = { kind: 'truncNormal', std: 0.02 } as const;

/** Multi-head self-attention on [N,T,D] with separate q/k/v projections (MatMul, Softmax, Transpose, Reshape only). */
export function attention(b: LayerBuilder, x: Sym, heads: number): Sym {
  const [t, d] = x.dims.slice(1) as [number, number];
  const dh = d / heads;
  const split = (name: string, perm: number[]): Sym =>
    b.transpose(b.reshape(b.linear(x, name, { out: d, init: TRUNC }), ['N', t, heads, dh]), perm);
  const q = split('q', [0, 2, 1, 3]); // [N,H,T,dh]
  const k = split('k', [0, 2, 3, 1]); // [N,H,dh,T]
  const v = split('v', [0, 2, 1, 3]);
  const attn = b.softmax(b.scale(b.matmul(q, k), 1 / Math.sqrt(dh)), -1);
  const ctx = b.reshape(b.transpose(b.matmul(attn, v), [0, 2, 1, 3]), ['N', t, d]);
  return b.linear(ctx, 'proj', { out: d, init: TRUNC });
}

/** Pre-norm transformer block (timm naming): x + attn(norm1(x)), then x + mlp(norm2(x)) with a GELU MLP. */
function block(b: LayerBuilder, x: Sym, cfg: VitConfig): Sym {
  const n1 = b.layerNorm(x, 'norm1');
  const h = b.add(x, b.scope('attn', () => attention(b, n1, cfg.heads)));
  const normed = b.layerNorm(h, 'norm2');
  const m = b.scope('mlp', () => {
    const hidden = b.gelu(b.linear(normed, 'fc1', { out: cfg.dim * cfg.mlpRatio, init: TRUNC }));
    return b.linear(hidden, 'fc2', { out: cfg.dim, init: TRUNC });
  });
  return b.add(h, m);
}

/**
 * A small ViT (Dosovitskiy et al. 2021) for 28–224 px: patch-embedding conv, class token, learned position
 * embedding, `depth` pre-norm blocks with multi-head attention and a GELU MLP, final LayerNorm, linear head on the
 * class token. The class token is joined to the patch tokens by zero-padding both to T+1 tokens and adding, and
 * read back by a constant one-hot MatMul, so only Pad/Add/MatMul are needed. Taps: `features` (patch tokens as
 * a [N,D,g,g] map, for CAM) and `embedding` (class token after the final norm).
 */
export function vit(cfg: VitConfig): (b: LayerBuilder, x: Sym) => Sym {
  return (b, x) => {
    const size = x.dims[2] as number;
    const g = size / cfg.patch;
    const p = g * g;
    const d = cfg.dim;
    const emb = b.scope('patch_embed', () => b.conv2d(x, 'proj', { out: d, kernel: cfg.patch, stride: cfg.patch, init: { kind: 'xavierUniform' } }));
    const tokens = b.transpose(b.reshape(emb, ['N', d, p]), [0, 2, 1]); // [N,P,D]
    const cls = b.param('cls_token', [1, 1, d], TRUNC);
    const pos = b.param('pos_embed', [1, p + 1, d], TRUNC);
    let h = b.add(b.add(b.pad(tokens, [0, 1, 0, 0, 0, 0]), b.pad(cls, [0, 0, 0, 0, p, 0])), pos);
    for (let i = 0; i < cfg.depth; i++) h = b.scope('blocks', () => b.scope(i, () => block(b, h, cfg)));
    h = b.layerNorm(h, 'norm');
    const toMap = b.reshape(b.transpose(b.matmul(b.constantSym(patchSelector(p), [p, p + 1]), h), [0, 2, 1]), ['N', d, g, g]);
    b.tap(toMap, 'features');
    const clsTok = b.tap(b.reshape(b.matmul(b.constantSym(oneHot(p + 1, 0), [1, p + 1]), h), ['N', d]), 'embedding');
    return b.linear(b.dropout(fuseTabular(b, clsTok, cfg.tabular ?? 0), cfg.dropout, 'drop'), 'head', { out: cfg.numClasses, init: TRUNC });
  };
}

function oneHot(n: number, i: number): Float32Array {
  const v = new Float32Array(n);
  v[i] = 1;
  return v;
}

/** [P, P+1] matrix selecting tokens 1..P (the patches, without the class token). */
function patchSelector(p: number): Float32Array {
  const m = new Float32Array(p * (p + 1));
  for (let i = 0; i < p; i++) m[i * (p + 1) + i + 1] = 1;
  return m;
}
