import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'bin/medclass.js');
const dir = mkdtempSync(join(tmpdir(), 'medclass-resume-'));
const config = join(dir, 'run.yaml');
writeFileSync(config, `
seed: 3
threads: 1
data:
  source: "phantom:n=300,size=16,seed=1"
  preprocess: { size: 16, channels: 1, normalize: half }
model: { arch: compact-cnn, width: 0.25 }
fit: { epochs: 3, batchSize: 8, lr: 0.004, augment: { hflip: true, translate: 0.1 } }
eval: { bootstrap: 50 }
`);

const train = (name: string, extra: string[] = []) =>
  spawnSync(process.execPath, [CLI, 'train', '--config', config, '--out', dir, '--name', name, '-q', ...extra], { encoding: 'utf8', timeout: 240_000 });
const metrics = (name: string) => readFileSync(join(dir, name, 'metrics.json'), 'utf8');

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('reproducible runs', () => {
  it('same seed twice gives byte-identical metrics.json', () => {
    expect(train('a').status).toBe(0);
    expect(train('b').status).toBe(0);
    expect(metrics('b')).toBe(metrics('a'));
    const m = JSON.parse(metrics('a'));
    expect(m.test.roc_auc).toBeGreaterThan(0.5);
    expect(m.val.n).toBeGreaterThan(0);
  }, 300_000);

  it('a run killed with SIGKILL mid-epoch and resumed ends with the same metrics as an uninterrupted one', async () => {
    const ckpt = join(dir, 'k', 'checkpoints', 'last.ckpt');
    const child = spawn(process.execPath, [CLI, 'train', '--config', config, '--out', dir, '--name', 'k', '-q'], { stdio: 'ignore' });
    const killed = await new Promise<boolean>((resolve) => {
      const t0 = Date.now();
      const poll = setInterval(() => {
        if (existsSync(ckpt)) {
          clearInterval(poll);
          setTimeout(() => resolve(child.kill('SIGKILL')), 30); // inside epoch 2 (epoch 1's checkpoint just landed)
        } else if (Date.now() - t0 > 200_000) {
          clearInterval(poll);
          resolve(false);
        }
      }, 20);
    });
    await new Promise((r) => child.once('exit', r));
    expect(killed).toBe(true);
    expect(existsSync(join(dir, 'k', 'metrics.json'))).toBe(false);
    const resumed = train('k', ['--resume']);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(metrics('k')).toBe(metrics('a'));
  }, 300_000);
});
