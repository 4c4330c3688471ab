import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainTinyRun } from '../pipeline/predict-helpers.js';

const run = promisify(execFile);
const BIN = new URL('../../bin/medclass.js', import.meta.url).pathname;

describe('medclass report --run (spawned CLI)', () => {
  let runDir = '';
  let cleanup = () => undefined as void;
  beforeAll(async () => {
    ({ runDir, cleanup } = await trainTinyRun('cli-report'));
  }, 180_000);
  afterAll(() => cleanup());

  it('writes report.html and model-card.md and names them; a missing run is MC_TRAIN_BAD_RUN_DIR', async () => {
    const r = await run(process.execPath, [BIN, 'report', '--run', runDir], { encoding: 'utf8' });
    expect(r.stdout).toMatch(/wrote report\.html \(\d+ KiB, \d+ Grad-CAM examples\), model-card\.md and \d+ figures/);
    expect(readFileSync(join(runDir, 'report.html'), 'utf8')).toContain('Research software, not a diagnostic device');
    expect(readFileSync(join(runDir, 'model-card.md'), 'utf8')).toContain('## Intended use');
    const bad = await run(process.execPath, [BIN, 'report', '--run', join(runDir, 'nope')], { encoding: 'utf8' }).catch((e: { code: number; stderr: string }) => e);
    expect((bad as { code: number }).code).toBe(1);
    expect((bad as { stderr: string }).stderr).toContain('MC_TRAIN_BAD_RUN_DIR');
  }, 180_000);
});
