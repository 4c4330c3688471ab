import { MedclassError } from '../../errors.js';
import type { Dim } from '../graph/types.js';
import { attr } from '../graph/types.js';
import type { InitSpec } from '../init.js';
import type { Graph } from '../graph/types.js';
import { importGraph } from './import-graph.js';
import { GraphRecorder, featureDims, ints, pair } from './layer-builder.js';
import type { Sym } from './types.js';

type Pair = number | readonly [number, number];

/** Conv2d options, named as torch.nn.Conv2d (ONNX `Conv` attributes underneath). */
export interface Conv2dOptions {
  out: number;
  kernel: Pair;
  stride?: Pair;
  /** Symmetric padding per side, or `'same'` for stride-1 odd kernels. */
  padding?: Pair | 'same';
  dilation?: Pair;
  group?: number;
  /** Add a bias (torch default true; set false before a batch-norm). */
  bias?: boolean;
  /** Weight init (default He normal, fan_out, as torchvision ResNet). */
  init?: InitSpec;
}

/** Linear options, named as torch.nn.Linear. */
export interface LinearOptions {
  out: number;
  bias?: boolean;
  /** Weight init (default Xavier uniform); the bias starts at 0. */
  init?: InitSpec;
}

function poolOut(size: number, k: number, s: number, p: number, d = 1): number {
  return Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;
}

/**
 * The layer API: each method records ONNX nodes for the current `mode` and returns the output value with its
 * shape. Parameter layers take a `name` relative to the current scope.
 *
 * @example
 * let h = b.conv2d(x, 'conv1', { out: 32, kernel: 3, padding: 1, bias: false });
 * h = b.relu(b.batchNorm(h, 'bn1'));
 */
export class LayerBuilder extends GraphRecorder {
  /** 2-D convolution on [N,C,H,W]; weight [out, C/group, kh, kw]. */
  conv2d(x: Sym, name: string, o: Conv2dOptions): Sym {
    const [c, h, w] = featureDims(x) as [number, number, number];
    const [kh, kw] = pair(o.kernel);
    const [sh, sw] = pair(o.stride ?? 1);
    const [dh, dw] = pair(o.dilation ?? 1);
    const [ph, pw] = o.padding === 'same' ? [(dh * (kh - 1)) / 2, (dw * (kw - 1)) / 2] : pair(o.padding ?? 0);
    const group = o.group ?? 1;
    if (c % group !== 0 || o.out % group !== 0 || !Number.isInteger(ph) || !Number.isInteger(pw)) {
      throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `${this.path(name)}: in ${c}, out ${o.out}, group ${group}, padding ${ph}×${pw} are inconsistent`);
    }
    return this.scope(name, () => {
      const wDims = [o.out, c / group, kh, kw];
      const weight = this.param('weight', wDims, o.init ?? { kind: 'kaimingNormal', mode: 'fanOut' });
      const inputs = [x, weight];
      if (o.bias ?? true) inputs.push(this.param('bias', [o.out], { kind: 'uniform', bound: 1 / Math.sqrt((c / group) * kh * kw) }));
      const dims = [x.dims[0]!, o.out, poolOut(h, kh, sh, ph, dh), poolOut(w, kw, sw, pw, dw)];
      return this.op('Conv', inputs, dims, {
        kernel_shape: ints([kh, kw]), strides: ints([sh, sw]), pads: ints([ph, pw, ph, pw]), dilations: ints([dh, dw]), group: attr.int(group),
      });
    });
  }

  /**
   * Batch-norm over channel dim 1 of [N,C,H,W] or [N,C] (torch BatchNorm2d/1d: eps 1e-5, momentum 0.1,
   * weight 1, bias 0). Training mode uses batch statistics and publishes them; see `BuildMode`.
   */
  batchNorm(x: Sym, name: string, o: { eps?: number; momentum?: number } = {}): Sym {
    const eps = o.eps ?? 1e-5;
    const momentum = o.momentum ?? 0.1;
    const f = featureDims(x);
    const c = f[0]!;
    return this.scope(name, () => {
      const weight = this.param('weight', [c], { kind: 'constant', value: 1 });
      const bias = this.param('bias', [c], { kind: 'constant', value: 0 });
      const rm = this.buffer('running_mean', [c], { kind: 'constant', value: 0 });
      const rv = this.buffer('running_var', [c], { kind: 'constant', value: 1 });
      if (this.mode === 'inference') {
        return this.op('BatchNormalization', [x, weight, bias, rm, rv], x.dims, { epsilon: attr.float(eps), momentum: attr.float(1 - momentum) });
      }
      const axes = [0, ...f.slice(1).map((_, i) => i + 2)];
      const bshape = [1, c, ...f.slice(1).map(() => 1)];
      let mean: string;
      let variance: string;
      let centred: string;
      if (this.mode === 'train') {
        mean = this.e.reduceMean(x.name, axes);
        centred = this.e.sub(x.name, mean);
        variance = this.e.reduceMean(this.e.mul(centred, centred), axes);
        // Published statistics: batch mean and unbiased variance (× n/(n−1), n = N·H·W), off the loss path.
        const n = this.e.div(this.e.op('Cast', [this.e.op('Size', [x.name])], { to: attr.int(1) }), this.scalar(c));
        const corr = this.e.div(n, this.e.sub(n, this.scalar(1)));
        const meanOutput = this.path('batch_mean');
        const varOutput = this.path('batch_var');
        this.graph.nodes.push({ opType: 'Reshape', name: `${meanOutput}/node`, domain: '', inputs: [mean, this.e.ints([c])], outputs: [meanOutput], attrs: {} });
        this.graph.nodes.push({ opType: 'Reshape', name: `${varOutput}/node`, domain: '', inputs: [this.e.mul(variance, corr), this.e.ints([c])], outputs: [varOutput], attrs: {} });
        this.graph.outputs.push({ name: meanOutput, dtype: 'float32', dims: [c] }, { name: varOutput, dtype: 'float32', dims: [c] });
        this.bnStats.push({ name: this.scopeName(), meanOutput, varOutput, runningMean: rm.name, runningVar: rv.name, momentum });
      } else {
        mean = this.e.reshape(rm.name, bshape);
        variance = this.e.reshape(rv.name, bshape);
        centred = this.e.sub(x.name, mean);
      }
      // γ/√(σ²+ε) is formed per channel ([1,C,1,1]) so only two full-size ops (Mul, Add) follow the centring.
      const factor = this.e.div(this.e.reshape(weight.name, bshape), this.e.op('Sqrt', [this.e.add(variance, this.scalar(eps))]));
      return { name: this.e.add(this.e.mul(centred, factor), this.e.reshape(bias.name, bshape)), dims: x.dims };
    });
  }

  /**
   * Layer norm over the last dim (torch LayerNorm, eps 1e-5): decomposed in train/eval graphs, one
   * `LayerNormalization` node in the inference graph.
   */
  layerNorm(x: Sym, name: string, o: { eps?: number } = {}): Sym {
    const eps = o.eps ?? 1e-5;
    const d = featureDims(x).at(-1)!;
    return this.scope(name, () => {
      const weight = this.param('weight', [d], { kind: 'constant', value: 1 });
      const bias = this.param('bias', [d], { kind: 'constant', value: 0 });
      if (this.mode === 'inference') {
        return this.op('LayerNormalization', [x, weight, bias], x.dims, { axis: attr.int(-1), epsilon: attr.float(eps) });
      }
      const centred = this.e.sub(x.name, this.e.reduceMean(x.name, [-1]));
      const variance = this.e.reduceMean(this.e.mul(centred, centred), [-1]);
      const normed = this.e.div(centred, this.e.op('Sqrt', [this.e.add(variance, this.scalar(eps))]));
      return { name: this.e.add(this.e.mul(normed, weight.name), bias.name), dims: x.dims };
    });
  }

  /** Fully connected layer on [N,F] (one `Gemm`, weight [out,F] as torch) or on [N,T,F] (reshaped around a `Gemm`). */
  linear(x: Sym, name: string, o: LinearOptions): Sym {
    const f = featureDims(x);
    const inF = f.at(-1)!;
    return this.scope(name, () => {
      const weight = this.param('weight', [o.out, inF], o.init ?? { kind: 'xavierUniform' });
      const inputs = [x, weight];
      if (o.bias ?? true) inputs.push(this.param('bias', [o.out], { kind: 'constant', value: 0 }));
      if (f.length === 1) return this.op('Gemm', inputs, [x.dims[0]!, o.out], { transB: attr.int(1) });
      const flat = this.reshape(x, ['N', inF]);
      const y = this.op('Gemm', [flat, ...inputs.slice(1)], ['N', o.out], { transB: attr.int(1) });
      return this.reshape(y, [x.dims[0]!, ...f.slice(0, -1), o.out]);
    });
  }

  /** Dropout with drop probability `p`: in training, `x · mask` where the mask (0 or 1/(1−p)) is a graph input. */
  dropout(x: Sym, p: number, name = this.autoName('dropout')): Sym {
    if (!(p >= 0 && p < 1)) throw new MedclassError('MC_ENGINE_BAD_MODEL', `${this.path(name)}: dropout p must be in [0, 1), got ${p}`);
    if ((this.mode !== 'train' && !this.keepDropout) || p === 0) return x;
    const mask = this.input(this.path(`${name}.mask`), x.dims);
    this.dropouts.push({ input: mask.name, dims: x.dims, p });
    return this.op('Mul', [x, mask], x.dims);
  }

  relu(x: Sym): Sym { return this.op('Relu', [x], x.dims); }
  sigmoid(x: Sym): Sym { return this.op('Sigmoid', [x], x.dims); }

  /** `Clip(x, min, max)`; `relu6` is `clip(x, 0, 6)`. */
  clip(x: Sym, min: number, max: number): Sym { return this.op('Clip', [x.name, this.scalar(min), this.scalar(max)], x.dims); }
  relu6(x: Sym): Sym { return this.clip(x, 0, 6); }

  /** Exact GELU (torch default): x · ½ · (1 + erf(x/√2)). */
  gelu(x: Sym): Sym {
    const erf = this.e.op('Erf', [this.e.div(x.name, this.scalar(Math.SQRT2))]);
    const half = this.e.mul(this.e.add(erf, this.scalar(1)), this.scalar(0.5));
    return { name: this.e.mul(x.name, half), dims: x.dims };
  }

  /** Max pooling (torch MaxPool2d: stride defaults to the kernel, floor mode). */
  maxPool(x: Sym, o: { kernel: Pair; stride?: Pair; padding?: Pair }): Sym { return this.pool('MaxPool', x, o); }

  /** Average pooling; padded cells count (torch's count_include_pad = True). */
  avgPool(x: Sym, o: { kernel: Pair; stride?: Pair; padding?: Pair }): Sym { return this.pool('AveragePool', x, o); }

  private pool(op: 'MaxPool' | 'AveragePool', x: Sym, o: { kernel: Pair; stride?: Pair; padding?: Pair }): Sym {
    const [c, h, w] = featureDims(x) as [number, number, number];
    const [kh, kw] = pair(o.kernel);
    const [sh, sw] = pair(o.stride ?? o.kernel);
    const [ph, pw] = pair(o.padding ?? 0);
    const attrs = { kernel_shape: ints([kh, kw]), strides: ints([sh, sw]), pads: ints([ph, pw, ph, pw]) };
    if (op === 'AveragePool') Object.assign(attrs, { count_include_pad: attr.int(1) });
    return this.op(op, [x], [x.dims[0]!, c, poolOut(h, kh, sh, ph), poolOut(w, kw, sw, pw)], attrs);
  }

  /** [N,C,H,W] → [N,C,1,1]. */
  globalAvgPool(x: Sym): Sym { return this.op('GlobalAveragePool', [x], [x.dims[0]!, x.dims[1]!, 1, 1]); }

  /** [N, …] → [N, ∏…] (`Flatten` axis 1). */
  flatten(x: Sym): Sym {
    return this.op('Flatten', [x], [x.dims[0]!, featureDims(x).reduce((a, b) => a * b, 1)], { axis: attr.int(1) });
  }

  /** Elementwise sum (residual connections); shapes must match or broadcast. */
  add(a: Sym, b: Sym): Sym { return this.op('Add', [a, b], a.dims.length >= b.dims.length ? a.dims : b.dims); }
  mul(a: Sym, b: Sym): Sym { return this.op('Mul', [a, b], a.dims.length >= b.dims.length ? a.dims : b.dims); }

  /** `x · c` for a constant. */
  scale(x: Sym, c: number): Sym { return this.op('Mul', [x.name, this.scalar(c)], x.dims); }

  /** Concatenation along `axis` (≥ 1; the batch dimension is shared). */
  concat(xs: readonly Sym[], axis: number): Sym {
    const dims = [...xs[0]!.dims];
    dims[axis] = xs.reduce((s, x) => s + (x.dims[axis] as number), 0);
    return this.op('Concat', xs, dims, { axis: attr.int(axis) });
  }

  /** Softmax along `axis` (default last). */
  softmax(x: Sym, axis = -1): Sym { return this.op('Softmax', [x], x.dims, { axis: attr.int(axis) }); }

  /** Batched matrix product with numpy broadcasting. */
  matmul(a: Sym, b: Sym): Sym {
    const batch = a.dims.length >= b.dims.length ? a.dims.slice(0, -2) : b.dims.slice(0, -2);
    return this.op('MatMul', [a, b], [...batch, a.dims.at(-2)!, b.dims.at(-1)!]);
  }

  /** Permutes dims. */
  transpose(x: Sym, perm: readonly number[]): Sym {
    return this.op('Transpose', [x], perm.map((p) => x.dims[p]!), { perm: ints(perm) });
  }

  /**
   * Copies the part of an existing ONNX graph that computes `outputs` (e.g. a pretrained backbone cut at
   * `embedding`); its weight initializers become parameters. See `importGraph`.
   */
  importGraph(g: Graph, inputs: Readonly<Record<string, Sym>>, outputs: readonly string[], prefix = 'trunk/'): Record<string, Sym> {
    return importGraph(this, g, inputs, outputs, prefix);
  }

  /** Constant zero padding; `pads` as ONNX: all begins, then all ends. */
  pad(x: Sym, pads: readonly number[]): Sym {
    const r = x.dims.length;
    const dims: Dim[] = x.dims.map((d, i) => (typeof d === 'number' ? d + pads[i]! + pads[i + r]! : d));
    return this.op('Pad', [x.name, this.e.ints(pads)], dims, { mode: attr.string('constant') });
  }
}
