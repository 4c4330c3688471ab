import { MedclassError } from '../../errors.js';
import type { ScheduleOptions } from '../options.js';

/** A learning-rate schedule: the multiplier of each group's base lr at a 0-based step. Pure. */
export type Schedule = (step: number) => number;

/** Multiplier 1 at every step. */
export function constantSchedule(): Schedule {
  return () => 1;
}

/**
 * Linear warmup from `warmupStartFactor` to 1 over `warmupSteps` (torch LinearLR), then cosine decay to `minFactor`
 * at `totalSteps` (torch CosineAnnealingLR with T_max = totalSteps − warmupSteps, eta_min = minFactor·lr).
 */
export function cosineSchedule(opts: { totalSteps: number; warmupSteps?: number; warmupStartFactor?: number; minFactor?: number }): Schedule {
  const { totalSteps, warmupSteps = 0, warmupStartFactor = 0, minFactor = 0 } = opts;
  const decay = Math.max(1, totalSteps - warmupSteps);
  return (step) => {
    if (step < warmupSteps) return warmupStartFactor + ((1 - warmupStartFactor) * step) / warmupSteps;
    const t = Math.min(step - warmupSteps, decay);
    return minFactor + ((1 - minFactor) * (1 + Math.cos((Math.PI * t) / decay))) / 2;
  };
}

/** gamma^⌊step / stepSize⌋, as torch StepLR. */
export function stepSchedule(opts: { stepSize: number; gamma?: number }): Schedule {
  const { stepSize, gamma = 0.1 } = opts;
  return (step) => gamma ** Math.floor(step / stepSize);
}

/**
 * torch OneCycleLR (anneal_strategy 'cos') as a multiplier of the maximum lr: from 1/divFactor up to 1 over
 * pctStart·totalSteps − 1 steps, then down to 1/(divFactor·finalDivFactor) at step totalSteps − 1. Momentum is not cycled.
 */
export function oneCycleSchedule(opts: { totalSteps: number; pctStart?: number; divFactor?: number; finalDivFactor?: number; threePhase?: boolean }): Schedule {
  const { totalSteps, pctStart = 0.3, divFactor = 25, finalDivFactor = 1e4, threePhase = false } = opts;
  const initial = 1 / divFactor;
  const min = initial / finalDivFactor;
  const up = pctStart * totalSteps - 1;
  const phases = threePhase
    ? [{ end: up, from: initial, to: 1 }, { end: 2 * pctStart * totalSteps - 2, from: 1, to: initial }, { end: totalSteps - 1, from: initial, to: min }]
    : [{ end: up, from: initial, to: 1 }, { end: totalSteps - 1, from: 1, to: min }];
  const cosAnneal = (from: number, to: number, pct: number) => to + ((from - to) / 2) * (Math.cos(Math.PI * pct) + 1);
  return (step) => {
    let start = 0;
    for (let i = 0; i < phases.length; i++) {
      const ph = phases[i]!;
      // a phase shorter than one step (tiny runs) jumps straight to its end value instead of dividing by zero
      const span = ph.end - start;
      if (step <= ph.end || i === phases.length - 1) return cosAnneal(ph.from, ph.to, span > 0 ? Math.min(1, (step - start) / span) : 1);
      start = ph.end;
    }
    return min;
  };
}

/** The schedule described by `opts`; cosine and onecycle need `totalSteps`. */
export function makeSchedule(opts: ScheduleOptions, totalSteps?: number): Schedule {
  const need = () => {
    if (!totalSteps) throw new MedclassError('MC_TRAIN_BAD_CONFIG', `schedule ${opts.name} needs totalSteps (got ${String(totalSteps)})`);
    return totalSteps;
  };
  switch (opts.name) {
    case 'constant': return constantSchedule();
    case 'cosine': return cosineSchedule({ ...opts, totalSteps: need() });
    case 'step': return stepSchedule(opts);
    case 'onecycle': return oneCycleSchedule({ ...opts, totalSteps: need() });
  }
}
