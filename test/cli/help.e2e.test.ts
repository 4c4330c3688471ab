import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const CLI = new URL('../../bin/medclass.js', import.meta.url).pathname;
const COMMANDS = ['demo', 'data', 'config', 'train', 'kfold', 'eval', 'metrics', 'predict', 'explain', 'index', 'similar', 'report', 'serve', 'engine', 'bench', 'export', 'dicom', 'dicomweb', 'batch', 'worker', 'sweep'];

describe('medclass --help', () => {
  it('lists every command on one line each', () => {
    const r = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    for (const c of COMMANDS) {
      const hits = lines.filter((l) => new RegExp(`^  ${c}\\b`).test(l));
      expect(hits, c).toHaveLength(1);
      const i = lines.indexOf(hits[0]!);
      expect(lines[i + 1] ?? '', `${c}: its summary wraps`).toMatch(/^ {2}\S|^$/);
    }
  });

  it('an unknown command exits non-zero and names it', () => {
    const r = spawnSync(process.execPath, [CLI, 'trian'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/trian/);
  });
});
