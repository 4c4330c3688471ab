import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/index.js';
import { parsePredictionsCsv } from '../../src/eval/index.js';
import { RunConfig, configDifferences, createRunDir, openRunDir, predictionsCsv } from '../../src/run/index.js';
import { removeTempDir } from '../pipeline/predict-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'medclass-rundir-'));
afterAll(() => removeTempDir(root));
let n = 0;
const fresh = () => join(root, `r${n++}`);
const cfg = RunConfig.parse({ name: 'x', data: { source: 'phantom:n=40' }, fit: { epochs: 2 } });

describe('createRunDir / openRunDir', () => {
  it('writes a run.json that openRunDir validates; files are recorded with the SHA-256 sha256sum computes', () => {
    const dir = fresh();
    const { run } = createRunDir(dir, cfg);
    run.writeFile('metrics.json', '{"a": 1}\n');
    const opened = openRunDir(dir);
    expect(opened.manifest.status).toBe('running');
    expect(opened.manifest.version).toBe(1);
    expect(opened.config.fit.epochs).toBe(2);
    const [rec] = opened.manifest.files;
    expect(rec!.path).toBe('metrics.json');
    expect(rec!.sha256).toBe(execFileSync('sha256sum', [join(dir, 'metrics.json')], { encoding: 'utf8' }).split(' ')[0]);
  });

  it('refuses an existing run with MC_RUN_EXISTS; force removes the stale report, model card, explain/ and index/ only', () => {
    const dir = fresh();
    createRunDir(dir, cfg).run.update({ status: 'done' });
    for (const f of ['report.html', 'model-card.md', 'notes.txt']) writeFileSync(join(dir, f), 'old');
    for (const d of ['explain', 'index']) { mkdirSync(join(dir, d)); writeFileSync(join(dir, d, 'x'), 'old'); }
    expect(() => createRunDir(dir, cfg)).toThrow(expect.objectContaining({ code: 'MC_RUN_EXISTS', hint: expect.stringContaining('--force') }));
    expect(() => createRunDir(dir, cfg, { resume: true })).toThrow(expect.objectContaining({ code: 'MC_RUN_EXISTS', message: expect.stringContaining('finished') }));
    createRunDir(dir, cfg, { force: true });
    for (const f of ['report.html', 'model-card.md', 'explain', 'index']) expect(existsSync(join(dir, f)), f).toBe(false);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('old');
    expect(openRunDir(dir).manifest.status).toBe('running');
  });

  it('resume needs a recorded run; an older run directory and a foreign schema version get their own codes', () => {
    expect(() => createRunDir(fresh(), cfg, { resume: true })).toThrow(expect.objectContaining({ code: 'MC_TRAIN_BAD_RUN_DIR' }));
    const old = fresh();
    mkdirSync(old);
    writeFileSync(join(old, 'summary.json'), '{}');
    expect(() => openRunDir(old)).toThrow(expect.objectContaining({ code: 'MC_RUN_OLD_FORMAT', message: expect.stringContaining('no run.json') }));
    const future = fresh();
    createRunDir(future, cfg);
    const m = JSON.parse(readFileSync(join(future, 'run.json'), 'utf8'));
    writeFileSync(join(future, 'run.json'), JSON.stringify({ ...m, version: 2 }));
    expect(() => openRunDir(future)).toThrow(expect.objectContaining({ code: 'MC_RUN_BAD_MANIFEST' }));
    writeFileSync(join(future, 'run.json'), JSON.stringify({ ...m, status: 'half' }));
    expect(() => openRunDir(future)).toThrow(expect.objectContaining({ code: 'MC_RUN_BAD_MANIFEST', message: expect.stringContaining('status') }));
  });

  it('configDifferences names what changed, not where the run lives', () => {
    const other = RunConfig.parse({ ...cfg, threads: 3, out: 'elsewhere', fit: { ...cfg.fit, epochs: 5 } });
    expect(configDifferences(cfg, other)).toEqual(['fit.epochs']);
    expect(configDifferences(cfg, RunConfig.parse(JSON.parse(JSON.stringify(cfg))))).toEqual([]);
  });
});

describe('predictions.csv writer', () => {
  it('9 significant digits give every float32 logit back exactly (8 would not)', () => {
    const rng = new Rng(7);
    const logits = Float32Array.from({ length: 4000 }, () => rng.normal() * 10);
    const rows = Array.from({ length: 2000 }, (_, i) => ({ split: i % 2 ? 'test' : 'val', id: `img "${i}", a`, label: i % 2, logits: logits.subarray(2 * i, 2 * i + 2) }));
    const t = parsePredictionsCsv(predictionsCsv(rows, 2));
    expect(t.meta.id![3]).toBe('img "3", a');
    expect(Array.from(t.scores, Math.fround)).toEqual(Array.from(logits));
    const eight = Array.from(logits, (v) => Math.fround(Number(v.toPrecision(8))));
    expect(eight.filter((v, i) => v !== logits[i]).length).toBeGreaterThan(0);
  });
});

describe('RunDir.splitsFor', () => {
  it('keeps recorded splits, puts a new item in its group\'s recorded split, and asks the fallback only for the rest', () => {
    const { run } = createRunDir(fresh(), cfg);
    run.update({ splits: { train: ['a1'], val: ['b1'], test: [] } });
    const item = (id: string, group?: string) => ({ id, label: 'x', labelIndex: 0, ...(group ? { group } : {}), load: () => Promise.reject(new Error('not loaded')) });
    const source = { kind: 'phantom' as const, name: 'p', classes: ['x'], items: [item('a1', 'A'), item('b1', 'B'), item('a2', 'A'), item('c1', 'C'), item('n1')] };
    let asked = 0;
    const r = run.splitsFor(source, () => { asked++; return source.items.map(() => 'test' as const); });
    expect(r.splits).toEqual(['train', 'val', 'train', 'test', 'test']);
    expect(r).toMatchObject({ recorded: 2, unknown: 3 });
    expect(asked).toBe(1);
    const known = run.splitsFor({ ...source, items: source.items.slice(0, 3) }, () => { asked++; return []; });
    expect(known.splits).toEqual(['train', 'val', 'train']);
    expect(asked).toBe(1); // every item placed from the record: no fallback
  });
});
