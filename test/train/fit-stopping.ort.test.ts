import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/index.js';
import { createModel } from '../../src/models/index.js';
import { FitOptions, fit, type FitState, type ImageSet, type Monitor } from '../../src/train/index.js';

/** A monitor that returns the given scores, one per validation (epoch), higher is better. */
function scripted(scores: number[]): Monitor {
  let i = 0;
  return { name: 'scripted', higherIsBetter: true, score: () => scores[i++]! };
}

function randomSet(n: number, seed: number): ImageSet {
  const rng = new Rng(seed);
  const x = new Float32Array(n * 16 * 16);
  for (let i = 0; i < x.length; i++) x[i] = rng.uniform() - 0.5;
  return { x, dims: [n, 1, 16, 16], labels: Int32Array.from({ length: n }, (_, i) => i % 2), indices: [...Array(n).keys()] };
}

/** Fits a tiny net with the scripted validation scores; returns the result and every epoch-end state. */
async function run(scores: number[], fitOptions: Record<string, unknown>) {
  const net = createModel('compact-cnn', { inChannels: 1, numClasses: 2, inputSize: 16, width: 0.25, rng: new Rng(0).fork('init') });
  const states: Pick<FitState, 'phase' | 'epoch' | 'phaseEnd' | 'badEpochs'>[] = [];
  const result = await fit({
    net, train: randomSet(16, 1), val: randomSet(8, 2), options: FitOptions.parse({ batchSize: 8, lr: 1e-3, ...fitOptions }),
    monitor: scripted(scores), rng: new Rng(0).fork('fit'), threads: 1,
    hooks: { onEpochEnd: (s) => { states.push({ phase: s.phase, epoch: s.epoch, phaseEnd: s.phaseEnd, badEpochs: s.badEpochs }); } },
  });
  return { result, states };
}

describe('fit: early stopping and phase ends', () => {
  it('early stopping ends the current phase, not the run; phaseEnd marks the last epoch of each phase', async () => {
    const { result, states } = await run([0.5, 0.4, 0.6, 0.7, 0.65], {
      patience: 1, phases: [{ epochs: 4, lr: 1e-3, trainable: 'all' }, { epochs: 3, lr: 1e-3, trainable: 'all' }],
    });
    // phase 1: epoch 1 best, epoch 2 worse → stopped after 2 of 4; phase 2 runs all 3 epochs (epoch 3 is worse)
    expect(states.map((s) => [s.phase, s.epoch, s.phaseEnd])).toEqual([[0, 1, false], [0, 2, true], [1, 1, false], [1, 2, false], [1, 3, true]]);
    expect(result.history.map((h) => [h.phase, h.epoch, h.valScore])).toEqual([[0, 1, 0.5], [0, 2, 0.4], [1, 1, 0.6], [1, 2, 0.7], [1, 3, 0.65]]);
    expect(result.best && [result.best.phase, result.best.epoch, result.best.score]).toEqual([1, 2, 0.7]);
    expect(result.stopped).toBe('early');
  });

  it('a run that never meets its patience is done, with phaseEnd on each phase\'s last epoch only', async () => {
    const { result, states } = await run([0.1, 0.2, 0.3], { patience: 2, phases: [{ epochs: 1, lr: 1e-3 }, { epochs: 2, lr: 1e-3 }] });
    expect(states.map((s) => s.phaseEnd)).toEqual([true, false, true]);
    expect(result.stopped).toBe('done');
  });
});

describe('fit.minEpochs: no best-epoch choice or early stop before that epoch', () => {
  // a lucky first validation (0.9) that a noisy small val set can give, then steady progress
  const scores = [0.9, 0.5, 0.6, 0.7, 0.65, 0.8];

  it('without it the lucky epoch 1 wins; with minEpochs 3 the best comes from epochs 3–6', async () => {
    const off = await run(scores, { epochs: 6 });
    expect(off.result.best && [off.result.best.epoch, off.result.best.score]).toEqual([1, 0.9]);
    const on = await run(scores, { epochs: 6, minEpochs: 3 });
    expect(on.result.best && [on.result.best.epoch, on.result.best.score]).toEqual([6, 0.8]);
    expect(on.result.stopped).toBe('done');
  });

  it('patience counts only from minEpochs on', async () => {
    const off = await run(scores, { epochs: 6, patience: 1 });
    expect(off.result.history).toHaveLength(2); // stopped at epoch 2, keeping epoch 1
    const on = await run(scores, { epochs: 6, patience: 1, minEpochs: 3 });
    expect(on.states.map((s) => s.badEpochs)).toEqual([0, 0, 0, 0, 1]); // epochs 1–2 not counted; 5 is worse than 4
    expect(on.result.best && on.result.best.epoch).toBe(4);
    expect(on.result.stopped).toBe('early');
  });

  it('a minEpochs beyond the run still lets the last epoch be chosen', async () => {
    const { result } = await run([0.9, 0.2, 0.3], { epochs: 3, minEpochs: 50 });
    expect(result.best && [result.best.epoch, result.best.score]).toEqual([3, 0.3]);
  });
});
