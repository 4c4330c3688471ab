import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'medclass-groups-cli-'));
  for (const rel of ['a/person1_bacteria_1.png', 'a/person1_virus_7.png', 'a/person12_x.png', 'b/IM-0115-0001.png',
    'b/NORMAL2-IM-1427-0001.png', 'b/scan 3.png']) {
    mkdirSync(join(root, 'src', rel, '..'), { recursive: true });
    writeFileSync(join(root, 'src', rel), 'x'); // split and config checks never decode
  }
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('--group-pattern on the CLI (spawned)', () => {
  it('medclass data split --group-pattern reports groups and unmatched files; a bad regex exits 1 with MC_CLI_BAD_OPTION', async () => {
    const ok = await runCli(['data', 'split', join(root, 'src'), '--mode', 'stratified', '--fractions', '0.5,0.5,0', '--group-pattern', '^(person\\d+|IM-\\d+)']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('groups: 3; groups in more than one split: 0; files unmatched by --group-pattern: 2');
    const bad = await runCli(['data', 'audit', join(root, 'src'), '--group-pattern', '(person']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("MC_CLI_BAD_OPTION: --group-pattern '(person'");
  }, 60_000);

  it('train and kfold take --group-pattern as data.groupPattern (a bad regex is a config error naming the field)', async () => {
    for (const cmd of [['train'], ['kfold', '--config', join(root, 'run.yaml')]]) {
      writeFileSync(join(root, 'run.yaml'), `data: { source: ${JSON.stringify(join(root, 'src'))} }\n`);
      const r = await runCli([...cmd, '--data', join(root, 'src'), '--group-pattern', '[', '--out', join(root, 'runs')]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain('MC_TRAIN_BAD_CONFIG');
      expect(r.stderr).toMatch(/data\.groupPattern: not a valid regular expression/);
    }
  }, 60_000);
});
