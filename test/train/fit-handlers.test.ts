import { describe, expect, it } from 'vitest';
import type { Network, ParamGroup } from '../../src/engine/index.js';
import type { AfterValidate, BeforePhase } from '../../src/train/fit-events.js';
import type { EpochRecord, ResumeFrom } from '../../src/train/index.js';
import { EarlyStopping, stoppedEarly } from '../../src/train/handlers/early-stopping.js';
import { PlateauSchedule } from '../../src/train/handlers/plateau.js';

// The fit-loop handlers on their own: plain objects fed scripted events, no network, no onnxruntime.

const NO_NET = {} as Network; // early stopping and the plateau schedule never read the network

function record(phase: number, epoch: number, valScore: number): EpochRecord {
  return { phase, epoch, trainLoss: 0, valLoss: 0, valScore, lr: 1e-3, seconds: 0, imagesPerSecond: 0 };
}

function phaseStart(phase: number, resume?: ResumeFrom): BeforePhase {
  return { phase, options: { epochs: 10, lr: 1e-3, trainable: 'all' }, startEpoch: 0, trainable: 1, total: 1, ...(resume ? { resume } : {}) };
}

/** Feeds one phase of scores to `h`, returning its answer and its badEpochs after each epoch. */
function feed(h: EarlyStopping, scores: number[], history: EpochRecord[] = [], phase = 0): { answers: (string | undefined)[]; bad: number[] } {
  const answers: (string | undefined)[] = [];
  const bad: number[] = [];
  scores.forEach((s, i) => {
    const r = record(phase, i + 1, s);
    history.push(r);
    answers.push(h.afterValidate({ record: r, history, net: NO_NET, lrGroups: [] }) ?? undefined);
    bad.push(h.badEpochs);
  });
  return { answers, bad };
}

const E = 'end-phase';
const cases: { name: string; higherIsBetter: boolean; patience: number; minEpochs: number; scores: number[]; answers: (string | undefined)[]; bad: number[] }[] = [
  { name: 'patience 0 never stops', higherIsBetter: true, patience: 0, minEpochs: 0, scores: [0.5, 0.4, 0.3, 0.2], answers: [undefined, undefined, undefined, undefined], bad: [0, 1, 2, 3] },
  { name: 'stops after `patience` worse epochs in a row', higherIsBetter: true, patience: 2, minEpochs: 0, scores: [0.5, 0.4, 0.3], answers: [undefined, undefined, E], bad: [0, 1, 2] },
  { name: 'an improvement resets the count', higherIsBetter: true, patience: 2, minEpochs: 0, scores: [0.5, 0.4, 0.6, 0.55, 0.5], answers: [undefined, undefined, undefined, undefined, E], bad: [0, 1, 0, 1, 2] },
  { name: 'lower is better for a loss', higherIsBetter: false, patience: 2, minEpochs: 0, scores: [1.0, 0.9, 0.95, 0.8, 0.85, 0.9], answers: [undefined, undefined, undefined, undefined, undefined, E], bad: [0, 0, 1, 0, 1, 2] },
  { name: 'a tie is no improvement', higherIsBetter: true, patience: 2, minEpochs: 0, scores: [0.5, 0.5, 0.5], answers: [undefined, undefined, E], bad: [0, 1, 2] },
  { name: 'epochs before minEpochs are not counted', higherIsBetter: true, patience: 1, minEpochs: 3, scores: [0.9, 0.1, 0.2, 0.1], answers: [undefined, undefined, undefined, E], bad: [0, 0, 0, 1] },
  // a NaN first score becomes the best and no number beats it (comparisons with NaN are false): every later epoch is worse
  { name: 'a NaN first score is never improved on', higherIsBetter: true, patience: 2, minEpochs: 0, scores: [NaN, 0.5, 0.9], answers: [undefined, undefined, E], bad: [0, 1, 2] },
];

describe('EarlyStopping handler', () => {
  it.each(cases)('$name', ({ higherIsBetter, patience, minEpochs, scores, answers, bad }) => {
    const h = new EarlyStopping({ higherIsBetter }, { patience, minEpochs });
    h.beforeFit({});
    h.beforePhase(phaseStart(0));
    expect(feed(h, scores)).toEqual({ answers, bad });
  });

  it('a new phase counts afresh against the run\'s best, not the phase\'s', () => {
    const h = new EarlyStopping({ higherIsBetter: true }, { patience: 2, minEpochs: 0 });
    h.beforeFit({});
    h.beforePhase(phaseStart(0));
    const history: EpochRecord[] = [];
    expect(feed(h, [0.8, 0.7], history).bad).toEqual([0, 1]);
    h.beforePhase(phaseStart(1));
    expect(h.badEpochs).toBe(0);
    // 0.75 beats phase 1's start but not the run's best 0.8
    expect(feed(h, [0.75, 0.85], history, 1)).toEqual({ answers: [undefined, undefined], bad: [1, 0] });
  });

  it('a resumed phase continues the checkpoint\'s count and best score', () => {
    const resume: ResumeFrom = {
      phase: 0, epoch: 3, step: 30, history: [record(0, 1, 0.7), record(0, 2, 0.6), record(0, 3, 0.65)], badEpochs: 2,
      best: { score: 0.7, epoch: 1, phase: 0, params: new Map() },
    };
    const h = new EarlyStopping({ higherIsBetter: true }, { patience: 3, minEpochs: 0 });
    h.beforeFit({ resume });
    h.beforePhase(phaseStart(0, resume));
    expect(h.badEpochs).toBe(2);
    expect(feed(h, [0.69], [...resume.history])).toEqual({ answers: [E], bad: [3] });
  });
});

describe('stoppedEarly', () => {
  const phases = [{ epochs: 3, lr: 1e-3, trainable: 'all' }, { epochs: 2, lr: 1e-3, trainable: 'all' }];
  it.each([
    { name: 'every phase ran to its end', history: [[0, 1], [0, 2], [0, 3], [1, 1], [1, 2]], early: false },
    { name: 'phase 1 ended after 2 of 3 epochs', history: [[0, 1], [0, 2], [1, 1], [1, 2]], early: true },
    { name: 'a phase not reached yet does not count', history: [[0, 1], [0, 2], [0, 3]], early: false },
    { name: 'no history', history: [], early: false },
  ])('$name → $early', ({ history, early }) => {
    expect(stoppedEarly(phases, history.map(([p, e]) => record(p!, e!, 0.5)))).toBe(early);
  });
});

describe('PlateauSchedule handler', () => {
  const groups = (): ParamGroup[] => [{ params: /.*/, lr: 0.01, initialLr: 0.01, weightDecay: 0 }];

  it('answers half the lr on the third epoch without improvement (torch ReduceLROnPlateau, patience 2) and never writes the groups it is shown', () => {
    const h = new PlateauSchedule({ higherIsBetter: false });
    h.beforePhase(phaseStart(0));
    const shown = groups();
    const answers = [1.0, 1.1, 1.2, 1.3].map((loss, i) => h.afterValidate({ record: record(0, i + 1, loss), history: [], net: NO_NET, lrGroups: shown }));
    expect(answers).toEqual([undefined, undefined, undefined, { lrGroups: [{ lr: 0.005, initialLr: 0.005 }] }]);
    expect(shown).toEqual(groups());
    expect(h.stateDict()).toEqual({ best: 1.0, badEpochs: 0, cooldownCounter: 0, lastEpoch: 4 });
  });

  it('starts afresh each phase, or from the checkpoint in the resumed phase', () => {
    const h = new PlateauSchedule({ higherIsBetter: true });
    h.beforePhase(phaseStart(0));
    h.afterValidate({ record: record(0, 1, 0.9), history: [], net: NO_NET, lrGroups: groups() } satisfies AfterValidate);
    h.beforePhase(phaseStart(1));
    expect(h.stateDict()).toEqual({ best: -Infinity, badEpochs: 0, cooldownCounter: 0, lastEpoch: 0 });
    const plateau = { best: 0.9, badEpochs: 2, cooldownCounter: 0, lastEpoch: 3 };
    h.beforePhase(phaseStart(1, { phase: 1, epoch: 3, step: 0, history: [], badEpochs: 0, plateau }));
    expect(h.afterValidate({ record: record(1, 4, 0.8), history: [], net: NO_NET, lrGroups: groups() })).toEqual({ lrGroups: [{ lr: 0.005, initialLr: 0.005 }] });
  });
});
