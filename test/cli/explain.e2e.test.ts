import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { phantomSource } from '../../src/data/index.js';
import { TINY_SOURCE, removeTempDir, trainTinyRun } from '../pipeline/predict-helpers.js';
import { runCli } from '../helpers/cli.js';


const cli = (...args: string[]) => runCli(args);

describe('medclass explain (spawned CLI)', () => {
  let runDir = '';
  let cleanup = () => undefined as void;
  const dir = mkdtempSync(join(tmpdir(), 'medclass-cli-explain-'));
  const files: string[] = [];

  beforeAll(async () => {
    ({ runDir, cleanup } = await trainTinyRun('cli-explain'));
    const src = phantomSource(TINY_SOURCE);
    for (const i of [0, 1]) {
      const img = await src.items[i]!.load();
      const file = join(dir, `img-${i}.png`);
      writeFileSync(file, await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 1 } }).png().toBuffer());
      files.push(file);
    }
  }, 180_000);
  afterAll(() => {
    removeTempDir(dir);
    cleanup();
  });

  it('prints file, label, probability and PNG path per image and writes the overlays; exit 0', async () => {
    const out = join(dir, 'maps');
    const r = await cli('explain', '--run', runDir, '--out', out, '--class', 'lesion', '--colormap', 'viridis', ...files);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/file\s+label\s+probability\s+explained\s+overlay/);
    for (const f of ['img-0', 'img-1']) {
      const png = join(out, `${f}.gradcam.png`);
      expect(r.stdout).toContain(png);
      expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
    }
    expect(r.stdout).toMatch(/lesion\s+\S+$/m);
    expect(r.stdout).toContain('not a diagnostic device');
  });

  it('--json to stdout; unknown class and --target other than predicted fail with their codes', async () => {
    const j = await cli('explain', '--run', runDir, '--out', join(dir, 'j'), '--target', 'predicted', '--json', '--', files[0]!);
    expect(j.code).toBe(0);
    const parsed = JSON.parse(j.stdout) as { explanations: { label: string; explained: string; probability: number; png: string }[] };
    expect(parsed.explanations[0]!.explained).toBe(parsed.explanations[0]!.label);
    expect(existsSync(parsed.explanations[0]!.png)).toBe(true);
    const bad = await cli('explain', '--run', runDir, '--class', 'tumour', files[0]!);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('MC_EXPLAIN_BAD_TARGET');
    const t = await cli('explain', '--run', runDir, '--target', 'max', files[0]!);
    expect(t.stderr).toContain('MC_CLI_BAD_OPTION');
  });
});
