import { MedclassError } from '../errors.js';
import { FitEvents } from './fit-events.js';
import { openPhase } from './fit-phase.js';
import type { FitArgs, FitResult, FitState } from './fit-types.js';
import { WeightEma } from './ema.js';
import { BestWeights } from './handlers/best-weights.js';
import { EarlyStopping, stoppedEarly } from './handlers/early-stopping.js';
import { hooksHandler } from './handlers/hooks.js';
import { PlateauSchedule } from './handlers/plateau.js';
import { progressHandler } from './handlers/progress.js';
import type { FitOptions, PhaseOptions } from './options.js';
import { Predictor } from './predict.js';
import { replanEpochs, type Replan } from './replan.js';

/** The phases to run: the explicit ones, or one phase training everything. */
export function phasesOf(o: FitOptions): PhaseOptions[] {
  return o.phases.length > 0 ? o.phases : [{ epochs: o.epochs, lr: o.lr, trainable: 'all' }];
}

function checkFitArgs({ options: o, train }: FitArgs): void {
  if (o.mixup > 0 && train.tabular) {
    throw new MedclassError('MC_TRAIN_BAD_CONFIG', 'fit.mixup cannot be used with a tabular (fusion) input: MixUp would mix the images but not their metadata', {
      hint: 'set fit.mixup: 0 for fusion runs',
    });
  }
}

/**
 * Trains `net` in place (its `params` and `buffers`), phase by phase: per epoch a seeded order (shuffled or
 * class-balanced), seeded augmentation and dropout masks, one compiled training step per batch (fixed batch size;
 * the last partial batch is dropped), running batch-norm statistics, then validation with `monitor`. The best
 * epoch's weights are kept in `best` (restore them with `loadWeights`). Early stopping (`patience` epochs without
 * improvement) ends the current phase, not the run: a later phase still trains. Every random draw comes from
 * `rng.fork('phase<p>/epoch<e>')`, so resuming at an epoch boundary reproduces an uninterrupted run. The loop is
 * named events (fit-events.ts); best weights, early stopping, the plateau schedule, progress and the caller's hooks
 * are handlers of them (handlers/).
 */
export async function fit(args: FitArgs): Promise<FitResult> {
  const { net, options: o, monitor } = args;
  const phases = phasesOf(o);
  checkFitArgs(args);
  // Epochs before `minEpochs` (counted over the run) are never chosen as best nor counted for patience; the run's
  // last epoch always may be.
  const minEpochs = Math.min(o.minEpochs, phases.reduce((a, ph) => a + ph.epochs, 0));
  const best = new BestWeights(monitor, minEpochs);
  const stopping = new EarlyStopping(monitor, { patience: o.patience, minEpochs });
  const plateau = o.schedule === 'plateau' ? new PlateauSchedule(monitor) : undefined;
  // EMA first: it averages each step before any hook sees the batch, and validation judges the averaged weights.
  const ema = o.ema > 0 ? new WeightEma(net, o.ema) : undefined;
  const events = new FitEvents([...(ema ? [ema] : []), best, stopping, ...(plateau ? [plateau] : []), progressHandler(args.onEvent), hooksHandler(args.hooks)]);
  const r = args.resume;
  const planned = phases.map((ph) => ph.epochs); // re-planning under a deadline shortens the last phase
  const replans: Replan[] = [...(r?.replans ?? [])];
  const history = r ? [...r.history] : [];
  let step = r?.step ?? 0;
  const end = (stopped: FitResult['stopped']): FitResult => {
    events.afterFit({ stopped });
    return { history, best: best.best, stopped, replans };
  };
  const cancel = (phase: number, epoch: number): FitResult => {
    events.afterCancel({ phase, epoch });
    return end('interrupted');
  };
  events.beforeFit(r ? { resume: r } : {});
  const predictor = await Predictor.create(net, args.threads);
  try {
    for (let p = r?.phase ?? 0; p < phases.length; p++) {
      const phase = phases[p]!;
      const resumed = r && p === r.phase ? r : undefined;
      const replayed = resumed ? replans.filter((x) => x.phase === p).at(-1)?.to ?? phase.epochs : phase.epochs;
      const startEpoch = resumed ? (resumed.phaseEnded ? replayed : resumed.epoch) : 0;
      if (startEpoch >= replayed) continue;
      const run = await openPhase(args, p, phase, startEpoch, predictor);
      const applyReplan = (ph: number, to: number, fromEpoch?: number): void => {
        const total = planned.reduce((x, y) => x + y, 0);
        const shortened = Math.floor((minEpochs * (total - planned[ph]! + to)) / total); // minEpochs keeps its share of a shorter run
        best.capMinEpochs(shortened);
        stopping.capMinEpochs(shortened);
        run.resize(to, fromEpoch);
        planned[ph] = to;
      };
      // a resumed phase first replays the checkpoint's re-plans, at the epochs they were made
      for (const rp of resumed ? replans.filter((x) => x.phase === p) : []) applyReplan(p, rp.to, rp.afterEpoch);
      try {
        events.beforePhase({ phase: p, options: phase, startEpoch, ...run.counts, ...(resumed ? { resume: resumed } : {}) });
        let mark = performance.now();
        const walls: number[] = [];
        for (let e = startEpoch; e < planned[p]!; e++) {
          events.beforeEpoch({ phase: p, epoch: e });
          const record = await run.epoch(e, (b) => events.afterBatch(b), ema ? () => ema.swap() : undefined);
          if (record === 'stop') return cancel(p, e);
          step += run.stepsPerEpoch;
          history.push(record);
          const verdict = events.afterValidate({ record, history, net, lrGroups: run.optimizer.groups });
          verdict.lrGroups?.forEach((g, i) => Object.assign(run.optimizer.groups[i]!, g));
          if (ema?.active) ema.swap(); // training (and the checkpoint's params) continue from the raw weights
          if (args.deadline !== undefined && p === phases.length - 1) {
            const now = performance.now();
            walls.push((now - mark) / 1000);
            mark = now;
            // the slower of the last epoch and the phase's mean: a load that rises mid-run must not push past the deadline
            const epochSeconds = Math.max(walls.at(-1)!, walls.reduce((a, b) => a + b, 0) / walls.length);
            const secondsLeft = (args.deadline - now) / 1000;
            const to = replanEpochs({ max: Math.max(phase.epochs, args.maxEpochs ?? 0), done: e + 1, secondsLeft, epochSeconds, planned: planned[p]! });
            if (to !== planned[p]!) {
              replans.push({ phase: p, afterEpoch: e + 1, from: planned[p]!, to, epochSeconds, secondsLeft });
              applyReplan(p, to);
            }
          }
          const state: FitState = {
            phase: p, epoch: e + 1, step, net, optimizer: run.optimizer, history, best: best.best, badEpochs: stopping.badEpochs,
            ...(plateau ? { plateau: plateau.stateDict()! } : {}), ...(ema ? { ema: ema.state.weights } : {}), phaseEnd: verdict.endPhase || e + 1 === planned[p]!, replans,
          };
          if ((await events.afterEpoch(state)) === 'stop') return cancel(p, e);
          if (verdict.endPhase) break; // early stopping ends this phase; the next phase (if any) starts afresh
        }
      } finally {
        await run.dispose();
      }
      args.trunkCache?.invalidate(run.trainable);
      events.afterPhase({ phase: p });
    }
    return end(stoppedEarly(phases.map((ph, i) => ({ ...ph, epochs: planned[i]! })), history) ? 'early' : 'done');
  } finally {
    await predictor.dispose();
  }
}
