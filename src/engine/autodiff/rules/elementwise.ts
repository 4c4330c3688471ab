import { onnxTypeCode } from '../../graph/onnx-io.js';
import { attr } from '../../graph/types.js';
import type { RuleTable } from '../grad-emitter.js';

/** Ops whose inputs broadcast (NumPy rules): their rules return output-shaped gradients the driver un-broadcasts. */
export const BROADCASTING: ReadonlySet<string> = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Where', 'Sum', 'Mean', 'Max', 'Min', 'PRelu']);

/** Arithmetic and pointwise maths. Sqrt, Exp use the forward output; Log, Erf the input. */
export const elementwiseRules = {
  Add: (_n, [dY]) => [dY, dY],
  Sum: (n, [dY]) => n.node.inputs.map(() => dY),
  Mean: (n, [dY], g) => { const d = g.mul(dY!, g.scalar(1 / n.node.inputs.length)); return n.node.inputs.map(() => d); },
  Sub: (_n, [dY], g) => [dY, g.neg(dY!)],
  Mul: (n, [dY], g) => [g.mul(dY!, n.input(1)), g.mul(dY!, n.input(0))],
  // d(a/b) = dY/b, -dY·y/b
  Div: (n, [dY], g) => {
    const b = n.input(1);
    const da = g.div(dY!, b);
    return [da, g.neg(g.mul(da, n.output(0)))];
  },
  // d(a^b) = dY·b·a^(b−1), dY·y·ln a
  Pow: (n, [dY], g) => {
    const [a, b, y] = [n.input(0), n.input(1), n.output(0)];
    const bf = g.dtype(b) === g.dtype(a) ? b : g.op('Cast', [b], { to: attr.int(onnxTypeCode(g.dtype(a) as 'float32')) });
    const da = g.mul(dY!, g.mul(bf, g.op('Pow', [a, g.sub(bf, g.scalar(1))])));
    const db = g.mul(dY!, g.mul(y, g.op('Log', [a])));
    return [da, db];
  },
  Neg: (_n, [dY], g) => [g.neg(dY!)],
  Identity: (_n, [dY]) => [dY],
  /** Dropout in eval mode is the identity (training-mode dropout is built from a seeded mask and Mul). */
  Dropout: (_n, [dY]) => [dY],
  /** Float-to-float casts pass the gradient, cast back to the input's type (the driver only reaches casts from floats). */
  Cast: (n, [dY], g) => {
    const from = g.dtype(n.input(0)), to = g.dtype(n.output(0));
    return [from === to ? dY : g.op('Cast', [dY!], { to: attr.int(onnxTypeCode(from as 'float32')) })];
  },
  Where: (n, [dY], g) => {
    const zero = g.scalar(0);
    return [undefined, g.where(n.input(0), dY!, zero), g.where(n.input(0), zero, dY!)];
  },
  Max: (n, [dY], g) => {
    const mask = g.op('Cast', [g.op('GreaterOrEqual', [n.input(0), n.input(1)])], { to: attr.int(1) });
    return [g.mul(dY!, mask), g.mul(dY!, g.oneMinus(mask))];
  },
  Min: (n, [dY], g) => {
    const mask = g.op('Cast', [g.op('LessOrEqual', [n.input(0), n.input(1)])], { to: attr.int(1) });
    return [g.mul(dY!, mask), g.mul(dY!, g.oneMinus(mask))];
  },
  Sqrt: (n, [dY], g) => [g.div(g.mul(dY!, g.scalar(0.5)), n.output(0))],
  Exp: (n, [dY], g) => [g.mul(dY!, n.output(0))],
  Log: (n, [dY], g) => [g.div(dY!, n.input(0))],
  Reciprocal: (n, [dY], g) => { const y = n.output(0); return [g.neg(g.mul(dY!, g.mul(y, y)))]; },
  Abs: (n, [dY], g) => [g.mul(dY!, g.op('Sign', [n.input(0)]))],
  // d erf(x) = 2/√π · exp(−x²)
  Erf: (n, [dY], g) => {
    const x = n.input(0);
    return [g.mul(dY!, g.mul(g.scalar(2 / Math.sqrt(Math.PI)), g.op('Exp', [g.neg(g.mul(x, x))])))];
  },
} satisfies RuleTable;
