import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { phantomSource } from '../../src/data/index.js';
import { TINY_SOURCE, readRunPredictions, removeTempDir, trainTinyRun } from '../pipeline/predict-helpers.js';
import { runCli } from '../helpers/cli.js';


const cli = (...args: string[]) => runCli(args);

describe('medclass predict (spawned CLI)', () => {
  let runDir = '';
  let cleanup = () => undefined as void;
  const dir = mkdtempSync(join(tmpdir(), 'medclass-cli-predict-'));
  const files: { file: string; logits: number[] }[] = [];

  beforeAll(async () => {
    ({ runDir, cleanup } = await trainTinyRun('cli-predict'));
    const src = phantomSource(TINY_SOURCE);
    for (const r of readRunPredictions(runDir).filter((p) => p.split === 'test').slice(0, 3)) {
      const img = await src.items.find((it) => it.id === r.id)!.load();
      const file = join(dir, `${r.id.replace('/', '-')}.png`);
      writeFileSync(file, await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: img.channels } }).png().toBuffer());
      files.push({ file, logits: r.logits });
    }
    writeFileSync(join(dir, 'broken.jpg'), new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 1, 2]));
  }, 180_000);
  afterAll(() => {
    removeTempDir(dir);
    cleanup();
  });

  it('prints file, label, probability, calibrated and the disclaimer; exit 0', async () => {
    const r = await cli('predict', '--run', runDir, ...files.map((f) => f.file));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/file\s+label\s+probability\s+calibrated\s+conformal set/);
    for (const f of files) expect(r.stdout).toContain(f.file);
    expect(r.stdout).toMatch(/(normal|lesion)\s+\d\.\d{4}\s+yes/);
    expect(r.stdout).toContain('Research software, not a diagnostic device');
  }, 180_000);

  it('--json gives the logits of predictions.csv; a broken file is reported per file (exit 2)', async () => {
    const r = await cli('predict', '--run', runDir, files[0]!.file, join(dir, 'broken.jpg'), '--json');
    expect(r.code).toBe(2);
    const j = JSON.parse(r.stdout);
    expect(j.disclaimer).toBe('research software, not a diagnostic device');
    expect(j.predictions[0].logits[0]).toBeCloseTo(files[0]!.logits[0]!, 4);
    expect(j.predictions[0].logits[1]).toBeCloseTo(files[0]!.logits[1]!, 4);
    expect(j.predictions[1].error.code).toBe('MC_DATA_UNREADABLE_IMAGE');
  }, 180_000);

  it('300 long paths on the command line (≈ 60 KB, which overflowed onnxruntime\'s set-up) all get a prediction', async () => {
    const deep = join(dir, 'a-long-folder-name-as-on-a-hospital-share-'.repeat(3), 'another-level-of-nesting-for-length');
    mkdirSync(deep, { recursive: true });
    const many = Array.from({ length: 300 }, (_, i) => join(deep, `patient-image-with-a-long-file-name-${i}.png`));
    for (const f of many) symlinkSync(files[0]!.file, f);
    expect(many.join(' ').length).toBeGreaterThan(50_000);
    const r = await cli('predict', '--run', runDir, ...many, '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { predictions: { file: string; logits: number[] }[] };
    expect(j.predictions.map((p) => p.file)).toEqual(many);
    expect(j.predictions[299]!.logits[0]).toBeCloseTo(files[0]!.logits[0]!, 4);
  }, 180_000);

  it('a folder that is not a run fails with MC_TRAIN_BAD_RUN_DIR (exit 1)', async () => {
    const r = await cli('predict', '--run', dir, files[0]!.file);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('MC_TRAIN_BAD_RUN_DIR');
  }, 180_000);
});
