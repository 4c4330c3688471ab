import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { phantomSource } from '../../src/data/index.js';
import { TINY_SOURCE, removeTempDir, trainTinyRun } from '../pipeline/predict-helpers.js';
import { runCli } from '../helpers/cli.js';

const cli = (...args: string[]) => runCli(args);

describe('medclass index / similar (spawned CLI)', () => {
  let runDir = '';
  let cleanup = () => undefined as void;
  const dir = mkdtempSync(join(tmpdir(), 'medclass-cli-similar-'));

  beforeAll(async () => {
    ({ runDir, cleanup } = await trainTinyRun('cli-similar', { bootstrap: 0 }));
  }, 180_000);
  afterAll(() => {
    removeTempDir(dir);
    cleanup();
  });

  it('similar before index fails with MC_RETRIEVAL_NO_INDEX (exit 1)', async () => {
    writeFileSync(join(dir, 'x.png'), 'x');
    const r = await cli('similar', '--run', runDir, join(dir, 'x.png'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('MC_RETRIEVAL_NO_INDEX');
    expect(r.stderr).toContain('medclass index --run DIR');
  }, 180_000);

  it('index prints the k-NN and model heads and writes index/; similar --json lists each image\'s own case first', async () => {
    const ix = await cli('index', '--run', runDir, '--k', '5', '--threads', '1', '--neighbors', '10');
    expect(ix.code).toBe(0);
    expect(ix.stdout).toMatch(/k-NN \(k=5, distance\)\s+test\s+\d+\s+\d\.\d{4}/);
    expect(ix.stdout).toMatch(/model\s+test/);
    for (const f of ['embeddings.f32', 'items.json', 'knn-metrics.json', 'knn-predictions.csv', 'umap.json']) expect(existsSync(join(runDir, 'index', f))).toBe(true);
    const items = JSON.parse(readFileSync(join(runDir, 'index/items.json'), 'utf8')).items as { id: string; label: string }[];
    const src = phantomSource(TINY_SOURCE);
    const img = await src.items.find((it) => it.id === items[4]!.id)!.load();
    const file = join(dir, 'case.png');
    writeFileSync(file, await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 1 } }).png().toBuffer());
    const r = await cli('similar', '--run', runDir, file, join(dir, 'x.png'), '--k', '3', '--json');
    expect(r.code).toBe(2);
    const j = JSON.parse(r.stdout);
    expect(j.disclaimer).toBe('research software, not a diagnostic device');
    expect(j.results[0].similar).toHaveLength(3);
    expect(j.results[0].similar[0]).toMatchObject({ id: items[4]!.id, label: items[4]!.label });
    expect(j.results[0].similar[0].similarity).toBeGreaterThan(0.99999);
    expect(j.results[1].error.code).toBe('MC_DATA_NOT_AN_IMAGE');
    const t = await cli('similar', '--run', runDir, file);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(new RegExp(`1\\s+${items[4]!.id}\\s+${items[4]!.label}\\s+1\\.0000`));
  }, 180_000);
});
