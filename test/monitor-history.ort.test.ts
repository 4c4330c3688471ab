import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runTraining } from '../src/pipeline/index.js';
import { historyCsv } from '../src/run/index.js';
import { TINY_SOURCE, removeTempDir } from './pipeline/predict-helpers.js';

describe('history.csv: train and val accuracy beside the named monitor', () => {
  const out = mkdtempSync(join(tmpdir(), 'medclass-history-'));
  afterAll(() => removeTempDir(out));

  it('writes the columns in order, accuracies as given, empty when unknown (older checkpoints)', () => {
    const rec = { phase: 0, epoch: 1, trainLoss: 0.5, valLoss: 0.25, valScore: 0.75, lr: 0.001, seconds: 1.234, imagesPerSecond: 99.94 };
    const text = historyCsv([{ ...rec, trainAccuracy: 0.625, valAccuracy: 0.8 }, { ...rec, epoch: 2 }], 'val_sensitivity:lesion');
    expect(text).toBe('phase,epoch,train_loss,val_loss,val_sensitivity:lesion,lr,seconds,images_per_s,train_accuracy,val_accuracy\n'
      + '0,1,0.5,0.25,0.75,0.001,1.23,99.9,0.625,0.8\n0,2,0.5,0.25,0.75,0.001,1.23,99.9,,\n');
  });

  it('a run monitored on sensitivity:lesion names it in history.csv; val accuracy of the best epoch is metrics.json val accuracy', async () => {
    const s = await runTraining({
      name: 'hist', out, seed: 3, threads: 1,
      data: { source: TINY_SOURCE, preprocess: { size: 32, channels: 1 } },
      fit: { epochs: 3, batchSize: 16, monitor: 'sensitivity:lesion' },
      eval: { bootstrap: 0 },
    });
    const lines = readFileSync(join(s.runDir, 'history.csv'), 'utf8').trim().split('\n');
    const head = lines[0]!.split(',');
    expect(head[4]).toBe('val_sensitivity:lesion');
    expect(head.slice(-2)).toEqual(['train_accuracy', 'val_accuracy']);
    const rows = lines.slice(1).map((l) => l.split(',').map(Number));
    expect(rows).toHaveLength(3);
    for (const r of rows) for (const v of r.slice(-2)) expect(v >= 0 && v <= 1).toBe(true);
    const metrics = JSON.parse(readFileSync(join(s.runDir, 'metrics.json'), 'utf8'));
    const best = rows.find((r) => r[1] === s.bestEpoch!.epoch)!;
    expect(best[head.indexOf('val_accuracy')]).toBeCloseTo(metrics.val.accuracy, 12);
    // the monitored score of the best epoch is the val recall of 'lesion' from the same predictions
    expect(best[4]).toBeCloseTo(metrics.val.per_class.find((c: { name: string }) => c.name === 'lesion').recall, 12);
  }, 120_000);

  it('a per-class monitor naming no class of the data stops before training with MC_TRAIN_BAD_CONFIG', async () => {
    await expect(runTraining({
      name: 'bad', out, seed: 3, threads: 1, data: { source: TINY_SOURCE, preprocess: { size: 32, channels: 1 } },
      fit: { epochs: 1, monitor: 'sensitivity:tumour' },
    })).rejects.toMatchObject({ code: 'MC_TRAIN_BAD_CONFIG' });
  });

  it('a class-weight or focal α list of the wrong length stops before the images load, naming the key', async () => {
    const stages: string[] = [];
    const base = { out, seed: 3, threads: 1, data: { source: TINY_SOURCE, preprocess: { size: 32, channels: 1 as const } } };
    await expect(runTraining({ ...base, name: 'bad-cw', fit: { epochs: 1, classWeights: [2] } }, { onEvent: (e) => { if (e.type === 'stage') stages.push(e.stage); } }))
      .rejects.toMatchObject({ code: 'MC_TRAIN_BAD_CONFIG', message: expect.stringContaining('fit.classWeights lists 1 weight for 2 classes') });
    expect(stages).toEqual(['data']); // no split was decoded
    await expect(runTraining({ ...base, name: 'bad-alpha', fit: { epochs: 1, loss: { kind: 'focal', gamma: 2, alpha: [1, 2, 3] } } }))
      .rejects.toMatchObject({ code: 'MC_TRAIN_BAD_CONFIG', message: expect.stringContaining('fit.loss.alpha lists 3 weights for 2 classes') });
  });
});
