// `sweep` on a real redis-server with 2 spawned workers: the kfold-breastmnist recipe (BreastMNIST npz from ../shared,
// compact CNN, shortened to 2 epochs and 2 folds) gives per-fold metrics.json byte-identical to runKFold's.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKFold, type RunConfigInput } from '../../src/pipeline/index.js';
import { runSweep } from '../../src/queue/index.js';
import { removeTempDir } from '../pipeline/predict-helpers.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { killChild, spawnWorker, type SpawnedWorker } from './queue-helpers.js';

const BREAST = new URL('../../../shared/data/breastmnist/BreastMNIST.npz', import.meta.url).pathname;
const config = (out: string): RunConfigInput => ({
  name: 'breast-sweep', out, seed: 0, threads: 1,
  data: { source: BREAST, preprocess: { size: 28, channels: 1, normalize: 'half' as const } },
  model: { arch: 'compact-cnn' as const, dropout: 0.2 },
  fit: { epochs: 2, batchSize: 32, lr: 0.002, weightDecay: 0.0005, classWeights: 'auto' as const, augment: { hflip: true, rotate: 10 }, monitor: 'loss' as const },
  eval: { bootstrap: 20 },
});

let redis: RedisServer;
let dir: string;
const workers: SpawnedWorker[] = [];

beforeAll(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'medclass-sweep-'));
}, 60_000);

afterAll(async () => {
  for (const w of workers) await killChild(w.proc);
  await redis?.stop();
  if (dir) removeTempDir(dir);
});

describe('sweep', () => {
  it('2 folds over 2 workers: each fold\'s metrics.json is byte-identical to kfold\'s, sweep.json holds their mean ± sd', async () => {
    const ref = await runKFold(config(join(dir, 'kfold')), 2);
    workers.push(await spawnWorker(redis.url, 'sA'), await spawnWorker(redis.url, 'sB'));
    const s = await runSweep(config(join(dir, 'sweep')), { queue: redis.url, folds: 2, pollMs: 200 });
    expect(s.points).toHaveLength(1);
    expect(s.points[0]!.runDirs).toHaveLength(2);
    for (let f = 1; f <= 2; f++) {
      const a = readFileSync(join(dir, 'kfold', 'breast-sweep', `fold-${f}`, 'metrics.json'), 'utf8');
      const b = readFileSync(join(dir, 'sweep', 'breast-sweep', 'default', 'seed-0', `fold-${f}`, 'metrics.json'), 'utf8');
      expect(b).toBe(a);
    }
    expect(s.points[0]!.metrics.roc_auc!.values).toEqual(ref.metrics.roc_auc!.values);
    const logs = workers.map((w) => w.log()).join('');
    expect(logs).toMatch(/sweep-\w+: 0 rows/);
    const again = await runSweep(config(join(dir, 'sweep')), { queue: redis.url, folds: 2, pollMs: 200 }); // finished folds are kept
    expect(again.points[0]!.metrics.roc_auc!.values).toEqual(ref.metrics.roc_auc!.values);
  });

  it('a worker killed mid-fold: the retried fold resumes from its checkpoint and still matches kfold', async () => {
    const cfg = (out: string) => ({ ...config(out), name: 'breast-resume', fit: { ...config(out).fit, epochs: 4 } }) as RunConfigInput;
    await runKFold(cfg(join(dir, 'kfold')), 2);
    for (const w of workers.splice(0)) await killChild(w.proc, 'SIGTERM');
    const victim = await spawnWorker(redis.url, 'sK', ['--lock-ms', '2000']);
    workers.push(victim);
    const sweep = runSweep(cfg(join(dir, 'sweep')), { queue: redis.url, folds: 2, pollMs: 200 });
    const ckpt = join(dir, 'sweep', 'breast-resume', 'default', 'seed-0', 'fold-1', 'checkpoints', 'last.ckpt');
    while (!existsSync(ckpt)) await new Promise((r) => setTimeout(r, 20));
    await killChild(victim.proc, 'SIGKILL'); // fold 1 has a checkpoint after epoch 1 of 4
    workers.push(await spawnWorker(redis.url, 'sL', ['--lock-ms', '2000']));
    const s = await sweep;
    for (let f = 1; f <= 2; f++) {
      const a = readFileSync(join(dir, 'kfold', 'breast-resume', `fold-${f}`, 'metrics.json'), 'utf8');
      const b = readFileSync(join(dir, 'sweep', 'breast-resume', 'default', 'seed-0', `fold-${f}`, 'metrics.json'), 'utf8');
      expect(b).toBe(a);
    }
    expect(s.points[0]!.runDirs).toHaveLength(2);
  });
});

