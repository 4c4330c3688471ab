import type { Schedule } from '../engine/index.js';

/** One re-plan of a phase under a deadline: after `afterEpoch` epochs its planned `from` epochs became `to` (fewer or more). */
export interface Replan {
  phase: number;
  afterEpoch: number;
  from: number;
  to: number;
  /** The per-epoch wall time the re-plan assumed, and the seconds left to the deadline then. */
  epochSeconds: number;
  secondsLeft: number;
}

/**
 * The epochs a phase should end at after `done` epochs when `secondsLeft` remain and an epoch takes `epochSeconds`:
 * the epochs that fit, at most `max` (the planned count: shrink only; more lets a plan from a pessimistic probe grow),
 * never fewer than `done` (end now). With the current plan `planned`, it changes only when needed: shrink as soon as
 * the plan does not fit, grow only by at least max(2, 10 % of the plan) and then to one epoch less than fits, so
 * noisy epoch times do not move the plan back and forth (BreastMNIST and brain MRI re-planned 27 and 50 times); never
 * grow once the planned epochs are done (the schedule cannot be stretched behind its end).
 */
export function replanEpochs(p: { max: number; done: number; secondsLeft: number; epochSeconds: number; planned?: number }): number {
  const fit = p.done + Math.floor(Math.max(0, p.secondsLeft) / Math.max(1e-9, p.epochSeconds));
  if (p.planned === undefined) return Math.min(p.max, Math.max(p.done, fit));
  if (fit < p.planned) return Math.max(p.done, fit);
  if (p.done >= p.planned) return p.planned; // the schedule has ended: more epochs would run at its final (lowest) rate
  const grown = Math.min(p.max, fit - 1);
  return grown - p.planned >= Math.max(2, Math.ceil(0.1 * p.planned)) ? grown : p.planned;
}

/**
 * A step schedule whose remaining part can be compressed or stretched: `resize(from, total)` maps steps
 * `from … total−1` linearly onto what was left of the schedule (`from … oldTotal−1`), so a one-cycle or cosine
 * schedule still ends at its low-rate end on the new last step. Steps before `from` keep their factors.
 */
export class ResizableSchedule {
  private warp: (step: number) => number = (s) => s;

  constructor(private readonly base: Schedule, private total: number) {}

  /** The schedule as the trainer reads it: the base schedule at the warped step. */
  readonly at: Schedule = (step) => this.base(this.warp(step));

  /** Steps the schedule now spans. */
  get totalSteps(): number {
    return this.total;
  }

  /** Ends the schedule at `total` steps, compressing (or stretching) it from step `from` on; a no-op when `from ≥ total`. */
  resize(from: number, total: number): void {
    if (total === this.total || from >= total || from >= this.total) return;
    const prev = this.warp;
    const oldLast = this.total - 1;
    const newLast = total - 1;
    const k = newLast > from ? (oldLast - from) / (newLast - from) : 0;
    this.warp = (s) => (s < from ? prev(s) : prev(newLast > from ? from + (s - from) * k : oldLast));
    this.total = total;
  }
}
