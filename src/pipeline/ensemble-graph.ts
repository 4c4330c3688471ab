import { Emitter, attr, type Graph, type ValueInfo } from '../engine/index.js';
import { MedclassError } from '../errors.js';

/** Output names of an ensemble or MC-dropout model.onnx besides `logits` (log of the mean probabilities). */
export const UNCERTAINTY_OUTPUT_NAMES = { entropy: 'entropy', mutualInformation: 'mutual_information', sampleLogits: 'sample_logits' } as const;

/** Smallest mean probability before the log: log p̄ stays finite (−69) where a class's probability underflows to 0. */
const TINY = 1e-30;

/**
 * Appends the tail shared by ensembles and MC-dropout to `g`: from per-sample logits `stacked` [S,N,K] it emits
 * `logits` = log p̄ with p̄ = mean_s softmax(stacked) [N,K] (so softmax(logits) = p̄, and temperature scaling and
 * conformal sets work unchanged), `entropy` H(p̄) [N], `mutual_information` H(p̄) − mean_s H(p_s) [N] (BALD, ≥ 0)
 * and `sample_logits` [S,N,K]; replaces `g.outputs` with these four. Opset 17, natural logarithms.
 */
export function appendUncertaintyTail(g: Graph, stacked: string, k: number, logitsName: string, batch: string | number = 'N'): void {
  const e = new Emitter(g, 'uncertainty');
  const put = (opType: string, inputs: string[], output: string, attrs: Record<string, ReturnType<typeof attr.int>> = {}) => {
    g.nodes.push({ opType, name: e.fresh(`${opType}_node`), domain: '', inputs, outputs: [output], attrs });
  };
  const axis = { axis: attr.int(-1) };
  const probs = e.op('Softmax', [stacked], axis);
  const logProbs = e.op('LogSoftmax', [stacked], axis);
  const mean = e.reduceMean(probs, [0], false);
  put('Log', [e.op('Max', [mean, e.scalar(TINY)])], logitsName);
  put('Neg', [e.reduceSum(e.mul(mean, logitsName), [1], false)], UNCERTAINTY_OUTPUT_NAMES.entropy);
  const expected = e.neg(e.reduceMean(e.reduceSum(e.mul(probs, logProbs), [2], false), [0], false));
  put('Relu', [e.sub(UNCERTAINTY_OUTPUT_NAMES.entropy, expected)], UNCERTAINTY_OUTPUT_NAMES.mutualInformation);
  put('Identity', [stacked], UNCERTAINTY_OUTPUT_NAMES.sampleLogits);
  g.outputs = [
    { name: logitsName, dtype: 'float32', dims: [batch, k] },
    { name: UNCERTAINTY_OUTPUT_NAMES.entropy, dtype: 'float32', dims: [batch] },
    { name: UNCERTAINTY_OUTPUT_NAMES.mutualInformation, dtype: 'float32', dims: [batch] },
    { name: UNCERTAINTY_OUTPUT_NAMES.sampleLogits, dtype: 'float32', dims: ['S', batch, k] },
  ];
}

/** Prefixes every value, node and initializer name of `g` with `prefix`, except the names in `keep` (shared inputs). */
function prefixNames(g: Graph, prefix: string, keep: ReadonlySet<string>): void {
  const rename = (v: string) => (v === '' || keep.has(v) ? v : `${prefix}${v}`);
  for (const n of g.nodes) {
    n.name = `${prefix}${n.name}`;
    n.inputs = n.inputs.map(rename);
    n.outputs = n.outputs.map(rename);
  }
  g.initializers = new Map([...g.initializers].map(([name, t]) => [rename(name), t]));
  g.outputs = g.outputs.map((o) => ({ ...o, name: rename(o.name) }));
}

/** The shared inputs of ensemble members: every member must declare the same names, dtypes and feature dims. */
function sharedInputs(members: readonly Graph[]): ValueInfo[] {
  const first = members[0]!.inputs;
  const sig = (vs: readonly ValueInfo[]) => vs.map((v) => `${v.name}:${v.dtype}:[${v.dims.slice(1).join(',')}]`).sort().join(' ');
  members.forEach((m, i) => {
    if (sig(m.inputs) !== sig(first)) {
      throw new MedclassError('MC_RUN_ENSEMBLE_MISMATCH', `member ${i + 1}: model.onnx inputs ${sig(m.inputs)} differ from member 1's ${sig(first)}`, { file: 'model.onnx' });
    }
  });
  return first.map((v) => ({ ...v, dims: ['N', ...v.dims.slice(1)] }));
}

/**
 * One ONNX graph for a deep ensemble (Lakshminarayanan et al. 2017): every member's model.onnx runs on the shared
 * inputs (`x`, and `tab` for fusion runs), its `output` logits [N,K] are stacked to [M,N,K], and the uncertainty tail
 * gives `logits` = log of the mean member probabilities, `entropy`, `mutual_information` and `sample_logits`.
 * Member names are prefixed `m<i>/`, so members never share a value.
 *
 * @example
 * const g = buildEnsembleGraph(runs.map((r) => loadModel(r.modelBytes())), { output: 'logits', classes: 2 });
 */
export function buildEnsembleGraph(members: readonly Graph[], o: { output: string; classes: number }): Graph {
  if (members.length === 0) throw new MedclassError('MC_RUN_ENSEMBLE_MISMATCH', 'an ensemble needs at least one member run');
  const inputs = sharedInputs(members);
  const keep = new Set(inputs.map((v) => v.name));
  const g: Graph = { name: `ensemble_of_${members.length}`, nodes: [], inputs, outputs: [], initializers: new Map(), valueInfo: new Map(), opset: 17 };
  const extra: Record<string, number> = {};
  const e = new Emitter(g, 'ensemble');
  const stackParts: string[] = [];
  members.forEach((member, i) => {
    const m: Graph = { ...member, nodes: member.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs] })), initializers: new Map(member.initializers) };
    if (!m.outputs.some((v) => v.name === o.output)) throw new MedclassError('MC_RUN_ENSEMBLE_MISMATCH', `member ${i + 1}: model.onnx has no output '${o.output}'`, { file: 'model.onnx' });
    if (m.opset > 17) throw new MedclassError('MC_RUN_ENSEMBLE_MISMATCH', `member ${i + 1}: model.onnx is opset ${m.opset}; ensembles combine opset ≤ 17 graphs`, { file: 'model.onnx' });
    Object.assign(extra, m.extraOpsets ?? {});
    const prefix = `m${i}/`;
    prefixNames(m, prefix, keep);
    g.nodes.push(...m.nodes);
    for (const [name, t] of m.initializers) g.initializers.set(name, t);
    stackParts.push(e.op('Unsqueeze', [`${prefix}${o.output}`, e.ints([0])]));
  });
  const stacked = stackParts.length === 1 ? stackParts[0]! : e.op('Concat', stackParts, { axis: attr.int(0) });
  if (Object.keys(extra).length) g.extraOpsets = extra;
  appendUncertaintyTail(g, stacked, o.classes, o.output);
  return g;
}
