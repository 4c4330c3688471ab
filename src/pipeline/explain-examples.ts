import { Dataset } from '../data/index.js';
import { openRunSource, runSplits } from './run-source.js';
import type { GradCamExample } from '../report/index.js';
import { openRunDir, sourceName } from '../run/index.js';
import { MedclassError } from '../errors.js';
import { explainTensors, openExplainer } from './explain.js';

/** Options of `gradCamExamples`. */
export interface GradCamExamplesOptions {
  /** data source to draw test images from (default: the run's, from run.json) */
  data?: string;
  /** onnxruntime threads (default 1) */
  threads?: number;
  /** overlay width at least this many px (default 160: small enough to embed several in the report) */
  minSize?: number;
}

/**
 * Grad-CAM examples for the report: per true class, two test images — the first correctly classified and the first
 * misclassified one, filled up with the second of either kind where one kind is missing — split as run.json records, each explained for
 * its predicted class. Throws (`MC_TRAIN_BAD_RUN_DIR`, data errors) when the run's source cannot be read; the
 * caller decides whether the report goes on without the section.
 */
export async function gradCamExamples(runDir: string, opts: GradCamExamplesOptions = {}): Promise<{ layer: string; examples: GradCamExample[] }> {
  const run = openRunDir(runDir);
  const cfg = run.config;
  const spec = opts.data ?? cfg.data.source;
  const source = openRunSource(spec, cfg.data);
  const ex = await openExplainer(runDir, { threads: opts.threads ?? 1 });
  try {
    if (source.classes.join(',') !== ex.model.classes.join(',')) {
      throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `${sourceName(spec)}: classes [${source.classes.join(',')}] differ from the run's [${ex.model.classes.join(',')}]`);
    }
    const { splits } = await runSplits(run, source);
    const ds = new Dataset(source, { splits, cacheTensors: false });
    const test = ds.indicesOf('test');
    const k = source.classes.length;
    const chosen: number[] = [];
    // Walk the test split in chunks until every class has a correct and a wrong example (or the split ends).
    const want = new Map<number, { right: number[]; wrong: number[] }>(source.classes.map((_, c) => [c, { right: [], wrong: [] }]));
    const results = new Map<number, Awaited<ReturnType<typeof explainTensors>>[number]>();
    const done = () => [...want.values()].every((w) => w.right.length >= 2 && w.wrong.length >= 1);
    for (let s = 0; s < test.length && !done(); s += 64) {
      const b = await ds.loadBatch(test.slice(s, s + 64), ex.model.preprocessOptions, { concurrency: 4 });
      const tab = ex.model.tabular ? ex.model.encodeMeta(b.indices.map((i) => source.items[i]!.meta)) : undefined;
      const res = await explainTensors(ex, b.x.data, b.labels.length, -1, { minSize: opts.minSize ?? 160 }, 16, tab);
      res.forEach((r, j) => {
        const y = b.labels[j]!;
        const w = want.get(y)!;
        const list = r.labelIndex === y ? w.right : w.wrong;
        if (list.length < 2) { list.push(b.indices[j]!); results.set(b.indices[j]!, r); }
      });
    }
    for (let c = 0; c < k; c++) {
      const w = want.get(c)!;
      chosen.push(...[w.right[0], w.wrong[0], w.right[1], w.wrong[1]].filter((i): i is number => i !== undefined).slice(0, 2));
    }
    const examples: GradCamExample[] = chosen.map((i) => {
      const r = results.get(i)!;
      return {
        trueLabel: source.items[i]!.label, predicted: ex.model.classes[r.labelIndex]!, probability: r.probability,
        explained: ex.model.classes[r.explainedIndex]!, png: r.png,
      };
    });
    return { layer: ex.gradCam.layer, examples };
  } finally {
    await ex.dispose();
  }
}
