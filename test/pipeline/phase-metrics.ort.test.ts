import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runTraining, type RunConfigInput, type RunEvent } from '../../src/pipeline/index.js';

const dir = mkdtempSync(join(tmpdir(), 'medclass-phase-metrics-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Two phases, patience 1 on val accuracy (ties do not improve): early stopping ends phase 1 before its 5 epochs.
const config: RunConfigInput = {
  seed: 2, threads: 1, out: dir,
  data: { source: 'phantom:n=120,size=16,seed=4', preprocess: { size: 16, channels: 1, normalize: 'half' } },
  model: { arch: 'compact-cnn', width: 0.25 },
  fit: {
    batchSize: 8, monitor: 'accuracy', patience: 1,
    phases: [{ epochs: 5, lr: 0.004, trainable: 'head' }, { epochs: 3, lr: 0.002, trainable: 'all' }],
  },
  eval: { bootstrap: 0, phaseMetrics: true },
};
const summaryOf = (name: string) => JSON.parse(readFileSync(join(dir, name, 'summary.json'), 'utf8'));

describe('summary.json phases when early stopping ends a phase', () => {
  it('holds the figures of both phases; the last equals metrics.json (same best weights)', async () => {
    await runTraining({ ...config, name: 'a' });
    const s = summaryOf('a');
    const perPhase = [0, 1].map((p) => s.history.filter((h: { phase: number }) => h.phase === p).length);
    expect(perPhase[0]).toBeLessThan(5); // phase 1 was ended by early stopping …
    expect(perPhase[1]).toBeGreaterThan(0); // … and phase 2 still trained
    expect(s.status).toBe('early');
    expect(s.phases.map((p: { phase: number; epochs: number; stoppedEarly: boolean }) => [p.phase, p.epochs, p.stoppedEarly]))
      .toEqual([[0, perPhase[0], true], [1, perPhase[1], perPhase[1] < 3]]);
    const last = s.phases[1];
    expect([last.best.phase, last.best.epoch]).toEqual([s.bestEpoch.phase, s.bestEpoch.epoch]);
    const m = JSON.parse(readFileSync(join(dir, 'a', 'metrics.json'), 'utf8'));
    expect(last.test.roc_auc).toBeCloseTo(m.test.roc_auc, 12);
    expect(last.test.accuracy).toBeCloseTo(m.test.accuracy, 12);
    expect(last.val.accuracy).toBeCloseTo(m.val.accuracy, 12);
  }, 120_000);

  it('a run stopped right after the early-stopped phase resumes in phase 2 to the same metrics', async () => {
    let phase2 = false;
    const onEvent = (e: RunEvent) => { if (e.type === 'phase-start' && e.phase === 1) phase2 = true; };
    const stopped = await runTraining({ ...config, name: 'b' }, { onEvent, shouldStop: () => phase2 });
    expect(stopped.status).toBe('interrupted');
    const resumed = await runTraining({ ...config, name: 'b' }, { resume: true });
    expect(resumed.status).toBe('early');
    expect(readFileSync(join(dir, 'b', 'metrics.json'), 'utf8')).toBe(readFileSync(join(dir, 'a', 'metrics.json'), 'utf8'));
    expect(summaryOf('b').history).toEqual(summaryOf('a').history.map((h: object) => ({ ...h, seconds: expect.any(Number), imagesPerSecond: expect.any(Number) })));
  }, 120_000);
});
