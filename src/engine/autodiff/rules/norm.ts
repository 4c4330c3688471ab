import { floatAttr, intAttr, normAxis } from '../../graph/op-attrs.js';
import type { RuleTable } from '../grad-emitter.js';

/** Normalisation layers. BatchNormalization is differentiated in inference mode (running statistics are constants). */
export const normRules = {
  BatchNormalization: (n, [dY], g) => {
    const xd = n.inDims(0), rank = xd.length, C = xd[1]!;
    const eps = floatAttr(n.node, 'epsilon', 1e-5);
    const pshape = [C, ...Array(rank - 2).fill(1)];
    const axes = [0, ...[...Array(rank - 2).keys()].map((i) => i + 2)];
    const inv = g.reshape(g.op('Reciprocal', [g.op('Sqrt', [g.add(n.input(4), g.scalar(eps))])]), pshape);
    const scale = g.reshape(n.input(1), pshape);
    const dx = g.mul(dY!, g.mul(scale, inv));
    const xhat = g.mul(g.sub(n.input(0), g.reshape(n.input(3), pshape)), inv);
    const dscale = g.reduceSum(g.mul(dY!, xhat), axes, false);
    const db = g.reduceSum(dY!, axes, false);
    return [dx, dscale, db, undefined, undefined];
  },
  // InstanceNormalization: per (n, c) statistics over space, per-channel scale and bias (layer-norm algebra).
  InstanceNormalization: (n, [dY], g) => {
    const xd = n.inDims(0), rank = xd.length, C = xd[1]!;
    const eps = floatAttr(n.node, 'epsilon', 1e-5);
    const sp = [...Array(rank - 2).keys()].map((i) => i + 2);
    const pshape = [C, ...Array(rank - 2).fill(1)];
    const x = n.input(0);
    const xc = g.sub(x, g.reduceMean(x, sp));
    const rstd = g.op('Reciprocal', [g.op('Sqrt', [g.add(g.reduceMean(g.mul(xc, xc), sp), g.scalar(eps))])]);
    const xhat = g.mul(xc, rstd);
    const dxhat = g.mul(dY!, g.reshape(n.input(1), pshape));
    const dx = g.mul(rstd, g.sub(g.sub(dxhat, g.reduceMean(dxhat, sp)), g.mul(xhat, g.reduceMean(g.mul(dxhat, xhat), sp))));
    return [dx, g.reduceSum(g.mul(dY!, xhat), [0, ...sp], false), g.reduceSum(dY!, [0, ...sp], false)];
  },
  // dX = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) over the normalised axes, dx̂ = dY·scale.
  LayerNormalization: (n, [dY], g) => {
    const xd = n.inDims(0), rank = xd.length;
    const axis = normAxis(intAttr(n.node, 'axis', -1), rank);
    const eps = floatAttr(n.node, 'epsilon', 1e-5);
    const normAxes = [...Array(rank - axis).keys()].map((i) => i + axis);
    const lead = [...Array(axis).keys()];
    const x = n.input(0);
    const xc = g.sub(x, g.reduceMean(x, normAxes));
    const rstd = g.op('Reciprocal', [g.op('Sqrt', [g.add(g.reduceMean(g.mul(xc, xc), normAxes), g.scalar(eps))])]);
    const xhat = g.mul(xc, rstd);
    const dxhat = g.mul(dY!, n.input(1));
    const dx = g.mul(rstd, g.sub(g.sub(dxhat, g.reduceMean(dxhat, normAxes)), g.mul(xhat, g.reduceMean(g.mul(dxhat, xhat), normAxes))));
    const sumLead = (v: string) => (lead.length > 0 ? g.reduceSum(v, lead, false) : v);
    const dscale = sumLead(g.mul(dY!, xhat));
    const db = n.has(2) ? sumLead(dY!) : undefined;
    return [dx, dscale, db];
  },
} satisfies RuleTable;
