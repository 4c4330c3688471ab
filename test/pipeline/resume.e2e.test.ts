import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'bin/medclass.js');
const dir = mkdtempSync(join(tmpdir(), 'medclass-resume-'));
const config = join(dir, 'run.yaml');
// fit.epochs is 3 here; every run below is started with --epochs 2, which --resume must restore from run.json.
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

const medclass = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 240_000 });
const train = (name: string, extra: string[] = []) => medclass(['train', '--config', config, '--epochs', '2', '--out', dir, '--name', name, '-q', '--no-report', ...extra]);
const file = (name: string, f: string) => readFileSync(join(dir, name, f), 'utf8');
const manifest = (name: string) => JSON.parse(file(name, 'run.json'));
/** The command printed after an interruption, as argv (it must work as printed). */
const resumeCommand = (stdout: string) => {
  const line = stdout.split('\n').find((l) => l.startsWith('interrupted: resume with'));
  expect(line, stdout).toBeDefined();
  const argv = line!.replace(/^interrupted: resume with\s+/, '').trim().split(/\s+/);
  expect(argv.slice(0, 3)).toEqual(['medclass', 'train', '--resume']);
  return argv.slice(1);
};

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('reproducible and resumable runs', () => {
  it('same seed twice gives byte-identical metrics.json', () => {
    expect(train('a').status).toBe(0);
    expect(train('b').status).toBe(0);
    expect(file('b', 'metrics.json')).toBe(file('a', 'metrics.json'));
    const m = JSON.parse(file('a', 'metrics.json'));
    expect(m.test.roc_auc).toBeGreaterThan(0.5);
    expect(manifest('a').config.fit.epochs).toBe(2);
  }, 300_000);

  it('stopped after 33 batches (epoch 2 of 27-batch epochs), `--resume` alone ends byte-identical to the uninterrupted run', () => {
    const stopped = train('k', ['--stop-after-batches', '33']);
    expect(stopped.status, stopped.stderr).toBe(130);
    expect(manifest('k').status).toBe('interrupted');
    expect(existsSync(join(dir, 'k', 'metrics.json'))).toBe(false);
    expect(file('k', 'history.csv').trim().split('\n')).toHaveLength(2); // header + epoch 1
    const resumed = medclass(resumeCommand(stopped.stdout));
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('» resume: phase 1, epoch 1');
    expect(file('k', 'metrics.json')).toBe(file('a', 'metrics.json'));
    expect(file('k', 'predictions.csv')).toBe(file('a', 'predictions.csv'));
    expect(manifest('k').status).toBe('done');
    expect(manifest('k').config.fit.epochs).toBe(2);
  }, 300_000);

  it('Ctrl-C (SIGINT) right after the first epoch line on stderr, then the printed resume command, ends byte-identical too', async () => {
    const child = spawn(process.execPath, [CLI, 'train', '--config', config, '--epochs', '2', '--out', dir, '--name', 'c'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (/phase 1 epoch 1: /.test(stderr) && !child.killed) child.kill('SIGINT'); // epoch 1's checkpoint is written before this line
    });
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code, stderr).toBe(130);
    expect(stderr).toContain('interrupt: finishing this batch');
    expect(manifest('c').status).toBe('interrupted');
    const resumed = medclass(resumeCommand(stdout));
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(file('c', 'metrics.json')).toBe(file('a', 'metrics.json'));
    expect(file('c', 'predictions.csv')).toBe(file('a', 'predictions.csv'));
  }, 300_000);

  it('with fit.ema, stopped in epoch 2 and resumed, last.ckpt carries the average: byte-identical to the uninterrupted run, unlike the run without EMA', () => {
    const emaConfig = join(dir, 'ema.yaml');
    writeFileSync(emaConfig, readFileSync(config, 'utf8').replace('fit: { epochs: 3,', 'fit: { epochs: 3, ema: 0.95,'));
    const run = (name: string, extra: string[] = []) => medclass(['train', '--config', emaConfig, '--epochs', '2', '--out', dir, '--name', name, '-q', '--no-report', ...extra]);
    expect(run('ea').status).toBe(0);
    const stopped = run('ek', ['--stop-after-batches', '33']);
    expect(stopped.status, stopped.stderr).toBe(130);
    const resumed = medclass(resumeCommand(stopped.stdout));
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(file('ek', 'predictions.csv')).toBe(file('ea', 'predictions.csv'));
    expect(file('ek', 'metrics.json')).toBe(file('ea', 'metrics.json'));
    expect(file('ea', 'predictions.csv')).not.toBe(file('a', 'predictions.csv'));
  }, 300_000);

  it('--resume with a config that differs from run.json is MC_RUN_RESUME_MISMATCH; a finished run has nothing to resume', () => {
    expect(train('m', ['--stop-after-batches', '5']).status).toBe(130);
    const r = medclass(['train', '--resume', join(dir, 'm'), '--epochs', '3', '-q']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('MC_RUN_RESUME_MISMATCH');
    expect(r.stderr).toContain('fit.epochs');
    const done = medclass(['train', '--resume', '--out', dir, '--name', 'a', '-q']);
    expect(done.status).toBe(1);
    expect(done.stderr).toContain('MC_RUN_EXISTS');
  }, 60_000);
});
