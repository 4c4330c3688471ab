// A ResNet-50 backbone (bottleneck blocks, one per stage, random weights) exported by tools/export-backbone.py at
// 64 px fine-tunes on 16 Kermany chest X-rays through the normal run: head → last:1 → all (one epoch each, cached
// trunk), model.onnx runs on its own, and Grad-CAM overlays come out of the `features` tap.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Session, loadModel } from '../src/engine/index.js';
import { inspectBackbone } from '../src/models/index.js';
import { explainImages, runTraining } from '../src/pipeline/index.js';

const SHARED = new URL('../../shared/data/chest-xray-pneumonia-224/', import.meta.url).pathname;
const TOOL = new URL('../tools/export-backbone.py', import.meta.url).pathname;

/** n images of each class from one split of the shared manifest (sorted, no duplicates), as absolute paths. */
function pick(split: string, n: number, skip = 0): [string, string][] {
  const rows = readFileSync(join(SHARED, 'manifest.csv'), 'utf8').trim().split(/\r?\n/).slice(1).map((l) => l.split(','));
  return ['NORMAL', 'PNEUMONIA'].flatMap((label) => rows.filter((r) => r[1] === split && r[2] === label && !r[9]).slice(skip, skip + n).map((r) => [join(SHARED, r[0]!), label] as [string, string]));
}

describe('backbone fine-tuning (ResNet-50 blocks, 16 chest X-rays, 64 px)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'medclass-backbone-train-'));
  const onnx = join(dir, 'resnet50.onnx');
  const csv = join(dir, 'items.csv');
  beforeAll(async () => {
    await promisify(execFile)('/usr/bin/python3', [TOOL, 'resnet50', '--random-weights', '--depth', '1', '--input-size', '64', '--out', onnx], { maxBuffer: 16 << 20 });
    const rows = [...pick('train', 4).map((r) => [...r, 'train']), ...pick('train', 2, 4).map((r) => [...r, 'val']), ...pick('test', 2).map((r) => [...r, 'test'])];
    writeFileSync(csv, `path,label,split\n${rows.map((r) => r.join(',')).join('\n')}\n`);
  }, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('trains head → last:1 → all, exports model.onnx and writes Grad-CAM PNGs', async () => {
    const side = JSON.parse(readFileSync(join(dir, 'resnet50.preprocess.json'), 'utf8')) as { size: number; normalize: string; features: number[] };
    expect(side).toMatchObject({ size: 64, normalize: 'imagenet', features: [2048, 2, 2] });
    const phases: { trainable: number; total: number }[] = [];
    const s = await runTraining({
      name: 'r50', out: dir, seed: 0, threads: 2,
      data: { source: csv, csv: { allowOutsidePaths: true }, preprocess: { size: 64, channels: 1, normalize: 'imagenet' } },
      model: { arch: 'backbone', backbone: onnx, head: 'linear' },
      fit: { batchSize: 4, cacheTrunk: true, phases: [{ epochs: 1, lr: 1e-3, trainable: 'head' }, { epochs: 1, lr: 3e-4, trainable: 'last:1' }, { epochs: 1, lr: 1e-4, trainable: 'all' }] },
      eval: { bootstrap: 0 },
    }, { onEvent: (e) => { if (e.type === 'phase-start') phases.push({ trainable: e.trainable, total: e.total }); } });
    expect(s.status).toBe('done');
    expect(s.counts).toEqual({ train: 8, val: 4, test: 4 });
    // head: 2048·2 + 2; last:1 adds the last weight layer `backbone inspect` names (with one bottleneck per stage, the
    // 1×1 shortcut 1024 → 2048 with its folded-BN bias comes last in topological order); all: every weight.
    const g = loadModel(onnx);
    const last = inspectBackbone(g).layers.at(-1)!;
    expect(last.params.map((p) => g.initializers.get(p)!.dims)).toEqual([[2048, 1024, 1, 1], [2048]]);
    expect(phases.map((p) => p.trainable)).toEqual([4098, 4098 + 1024 * 2048 + 2048, phases[0]!.total]);

    const model = join(s.runDir, 'model.onnx');
    expect(existsSync(model)).toBe(true);
    const session = await Session.create(loadModel(model), { threads: 2 });
    const x = new Float32Array(2 * 64 * 64).fill(0.5);
    const out = await session.run({ x: { dtype: 'float32', dims: [2, 1, 64, 64], data: x } });
    await session.dispose();
    const logits = Object.values(out)[0]!.data as Float32Array;
    expect(logits.length).toBeGreaterThanOrEqual(4);
    expect([...logits].every(Number.isFinite)).toBe(true);

    const files = pick('test', 1).map((r) => r[0]);
    const res = await explainImages(s.runDir, files, { out: join(dir, 'cam'), threads: 2 });
    expect(res).toHaveLength(2);
    const ranges: number[] = [];
    for (const r of res) {
      if (r.error !== undefined) throw r.error;
      ranges.push(Math.max(...r.cam.data) - Math.min(...r.cam.data));
      expect(readFileSync(r.png!).subarray(1, 4).toString()).toBe('PNG');
      expect([r.cam.width, r.cam.height]).toEqual([64, 64]);
      expect([...r.cam.data].every((v) => v >= 0 && v <= 1)).toBe(true);
    }
    // a map, not a constant, for at least one image: with random ResNet-50 weights the ReLU of Grad-CAM's weighted sum
    // can be 0 everywhere for an image (as in pytorch-grad-cam), so one flat map alone is not a fault
    expect(Math.max(...ranges)).toBeGreaterThan(0.1);
  }, 180_000);
});
