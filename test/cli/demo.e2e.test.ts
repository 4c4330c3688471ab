import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { removeTempDir } from '../pipeline/predict-helpers.js';

describe('medclass demo (npm start), small', () => {
  const out = mkdtempSync(join(tmpdir(), 'medclass-demo-'));
  afterAll(() => removeTempDir(out));

  it('runs audit → train → evaluate → index → report → export and prints where every artifact is', async () => {
    const r = await runCli(['demo', '--n', '200', '--epochs', '2', '--threads', '1', '--out', out, '-q']);
    expect(r.code, r.stderr).toBe(0);
    for (const step of ['1/6 audit', '3/6 evaluate', '4/6 index', '5/6 report', '6/6 export', 'artifacts (']) expect(r.stdout).toContain(step);
    const listed = [...r.stdout.matchAll(/^ {2}(\S+) {2}/gm)].map((m) => m[1]!);
    const runDir = join(out, 'demo');
    for (const f of ['report.html', 'model-card.md', 'figures', 'model.onnx', 'metrics.json', 'predictions.csv', 'run.json', 'index']) expect(listed).toContain(join(runDir, f));
    expect(listed).toContain(join(out, 'demo.zip'));
    for (const p of listed) expect(existsSync(p), p).toBe(true);
    const html = readFileSync(join(runDir, 'report.html'), 'utf8');
    for (const id of ['gradcam', 'similar', 'embedding', 'errors', 'conformal']) expect(html).toContain(`<section id="${id}">`);
    const figs = readdirSync(join(runDir, 'figures'));
    expect(figs).toContain('embedding-umap.png');
    expect(figs.filter((f) => f.endsWith('.svg')).length).toBe(figs.filter((f) => f.endsWith('.png')).length);
    const zip = unzipSync(new Uint8Array(readFileSync(join(out, 'demo.zip'))));
    expect(Object.keys(zip)).toContain('manifest.json');
    expect(Object.keys(zip)).toContain('figures/embedding-umap.png');
  }, 300_000);
});
