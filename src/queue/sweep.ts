import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Queue } from 'bullmq';
import { z } from 'zod';
import { MedclassError } from '../errors.js';
import { kFoldSplits, runTraining } from '../pipeline/index.js';
import { RunConfig, openRunDir, sha256Of, toJson, writeAtomic, type RunConfigInput } from '../run/index.js';
import { QUEUE_NAME, checkQueueReachable, parseQueueUrl, redactUrl } from './connection.js';
import { medclassVersion } from './predict-chunk.js';

/** A sweep job: fold `fold` (0-based) of `k` of one resolved config (seed and grid point applied), trained into `runDir`. */
export interface TrainFoldJob { type: 'train-fold'; medclass: string; config: RunConfig; k: number; fold: number; runDir: string }

/** Options of `runSweep` (and `medclass sweep`). */
export const SweepOptions = z.strictObject({
  queue: z.string().optional().describe('redis://HOST:PORT of the workers; without it the jobs run in this process'),
  folds: z.number().int().min(2).default(5).describe('k of the k-fold split'),
  seeds: z.array(z.number().int().min(0)).min(1).optional().describe('seeds (default: the config seed)'),
  set: z.array(z.tuple([z.string(), z.array(z.union([z.string(), z.number(), z.boolean()])).min(1)])).default([]).describe('grid: [dotted config path, values]'),
  pollMs: z.number().int().min(10).default(1000),
  attempts: z.number().int().min(1).default(3),
});
export type SweepOptionsInput = z.input<typeof SweepOptions>;

/** What a finished sweep found: per grid point the test metrics over folds × seeds. */
export interface SweepSummary {
  root: string;
  points: { label: string; overrides: Record<string, unknown>; runDirs: string[]; metrics: Record<string, { values: number[]; mean: number; sd: number }> }[];
  jobs: number;
  jobIds: string[];
}

const HEADLINE = ['accuracy', 'balanced_accuracy', 'roc_auc', 'roc_auc_ovr_macro', 'macro_f1', 'mcc', 'quadratic_kappa', 'log_loss', 'brier'];

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (typeof o[k] !== 'object' || o[k] === null) o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[keys.at(-1)!] = value;
}

/** Every combination of the grid's values (one point, no overrides, for an empty grid). */
function gridPoints(set: readonly [string, readonly unknown[]][]): { label: string; overrides: [string, unknown][] }[] {
  let points: [string, unknown][][] = [[]];
  for (const [path, values] of set) points = points.flatMap((p) => values.map((v) => [...p, [path, v] as [string, unknown]]));
  return points.map((p) => ({ label: p.length ? p.map(([k, v]) => `${k}=${String(v)}`).join(',') : 'default', overrides: p }));
}

/** The sweep's jobs: fold × seed × grid point, each with its run directory `<out>/<name>/<point>/seed-<s>/fold-<f>`. */
export function sweepJobs(input: RunConfigInput, options: SweepOptionsInput): { root: string; jobs: { id: string; point: string; data: TrainFoldJob }[] } {
  const o = SweepOptions.parse(options);
  const base = RunConfig.parse(input);
  const root = resolve(base.out, base.name);
  const jobs = gridPoints(o.set).flatMap((pt) => (o.seeds ?? [base.seed]).flatMap((seed) => Array.from({ length: o.folds }, (_, f) => {
    const raw = JSON.parse(JSON.stringify(input)) as Record<string, unknown>;
    raw.seed = seed;
    for (const [path, v] of pt.overrides) setPath(raw, path, v);
    const parsed = RunConfig.safeParse(raw);
    if (!parsed.success) throw new MedclassError('MC_CLI_BAD_OPTION', `sweep ${pt.label}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, { hint: 'check the --set paths against medclass config --reference' });
    const data: TrainFoldJob = { type: 'train-fold', medclass: medclassVersion(), config: parsed.data, k: o.folds, fold: f, runDir: join(root, pt.label, `seed-${seed}`, `fold-${f + 1}`) };
    return { id: `sweep-${sha256Of(JSON.stringify(data)).slice(0, 24)}`, point: pt.label, data };
  })));
  return { root, jobs };
}

function isDone(runDir: string): boolean {
  return existsSync(join(runDir, 'run.json')) && openRunDir(runDir).manifest.status === 'done';
}

/**
 * Trains one fold job exactly as `runKFold` trains that fold (same splits, same fold record); a run directory left by
 * a worker that died resumes from its last checkpoint, a finished one is kept.
 */
export async function runTrainFold(job: TrainFoldJob, worker = 'in-process'): Promise<void> {
  if (job.medclass !== medclassVersion()) {
    throw new MedclassError('MC_QUEUE_VERSION_MISMATCH', `worker ${worker} runs medclass ${medclassVersion()}; the job was made by medclass ${job.medclass}`, { hint: 'install the same medclass version on every worker machine' });
  }
  if (isDone(job.runDir)) return;
  const cfg = RunConfig.parse(job.config);
  const resume = existsSync(join(job.runDir, 'run.json')) && existsSync(join(job.runDir, 'checkpoints', 'last.ckpt'));
  const s = await runTraining(cfg, { runDir: job.runDir, splits: kFoldSplits(cfg, job.k, job.fold), fold: { index: job.fold + 1, k: job.k }, resume, force: !resume });
  if (s.status !== 'done') throw new Error(`fold ${job.fold + 1} of ${job.runDir} ended ${s.status}`);
}

/** Runs a sweep (on queue workers, or here) and writes `<out>/<name>/sweep.json`: per grid point, test mean ± sd over folds × seeds. */
export async function runSweep(input: RunConfigInput, options: SweepOptionsInput, onStage: (line: string) => void = () => {}): Promise<SweepSummary> {
  const o = SweepOptions.parse(options);
  const { root, jobs } = sweepJobs(input, o);
  onStage(`sweep: ${jobs.length} jobs (${new Set(jobs.map((j) => j.point)).size} grid points × ${(o.seeds ?? [0]).length} seed(s) × ${o.folds} folds) under ${root}`);
  if (!o.queue) {
    for (const [i, j] of jobs.entries()) { onStage(`job ${i + 1}/${jobs.length}: ${j.data.runDir}`); await runTrainFold(j.data); }
  } else {
    await checkQueueReachable(o.queue);
    const queue = new Queue(QUEUE_NAME, { connection: parseQueueUrl(o.queue) });
    queue.on('error', () => {});
    try {
      for (const j of jobs) {
        if (isDone(j.data.runDir)) continue;
        const had = await queue.getJob(j.id);
        if (had) {
          const state = await had.getState();
          if (state !== 'completed' && state !== 'failed') continue;
          await had.remove();
        }
        await queue.add('train-fold', j.data, { jobId: j.id, attempts: o.attempts, backoff: { type: 'fixed', delay: 1000 } });
      }
      onStage(`queued on ${redactUrl(o.queue)}; waiting for workers`);
      let left = jobs.filter((j) => !isDone(j.data.runDir));
      while (left.length) {
        await new Promise((r) => setTimeout(r, o.pollMs));
        for (const j of left) {
          const job = await queue.getJob(j.id).catch(() => undefined);
          if (job && (await job.getState()) === 'failed' && !isDone(j.data.runDir)) {
            throw new MedclassError('MC_QUEUE_JOB_FAILED', `${j.data.runDir} (job ${j.id}) failed after ${job.attemptsMade} attempt(s): ${job.failedReason}`, { hint: 'fix the cause and run the same command again: finished folds are kept' });
          }
        }
        const before = left.length;
        left = left.filter((j) => !isDone(j.data.runDir));
        if (left.length !== before) onStage(`${jobs.length - left.length}/${jobs.length} folds done`);
      }
    } finally {
      await queue.close().catch(() => {});
    }
  }
  const points: SweepSummary['points'] = [];
  for (const label of [...new Set(jobs.map((j) => j.point))]) {
    const mine = jobs.filter((j) => j.point === label);
    const tests = mine.map((j) => openRunDir(j.data.runDir).metrics()?.test as unknown as Record<string, unknown> | undefined);
    const metrics: SweepSummary['points'][number]['metrics'] = {};
    for (const key of HEADLINE) {
      const values = tests.map((t) => t?.[key]).filter((v): v is number => typeof v === 'number');
      if (values.length !== tests.length || !values.length) continue;
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const sd = values.length > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1)) : 0;
      metrics[key] = { values, mean, sd };
    }
    const overrides = Object.fromEntries(gridPoints(o.set).find((p) => p.label === label)!.overrides);
    points.push({ label, overrides, runDirs: mine.map((j) => j.data.runDir), metrics });
  }
  const summary: SweepSummary = { root, points, jobs: jobs.length, jobIds: jobs.map((j) => j.id) };
  writeAtomic(join(root, 'sweep.json'), toJson({ ...summary, folds: o.folds, note: 'test split untouched by training; each fold evaluated on it; mean ± sd over folds × seeds' }));
  return summary;
}
