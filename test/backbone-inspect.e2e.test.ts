// `medclass backbone inspect` on the shared MobileNetV2 (through a symlink beside a preprocessing sidecar in a temp
// dir), its `last:N` counts against the trainer's own selection, and unknown `model.arch` values refused by
// `medclass config` and by `medclass train` before any data is read (spawned CLI).
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../src/engine/index.js';
import { createBackbone, selectTrainable, type BackboneInspection } from '../src/models/index.js';
import { runCli } from './helpers/cli.js';

const MODEL = new URL('../../shared/models/tf-mobilenet-coral/mobilenet_v2_1.0_224_quant.f32.onnx', import.meta.url).pathname;

describe('medclass backbone inspect / unknown arch', () => {
  const dir = mkdtempSync(join(tmpdir(), 'medclass-backbone-inspect-'));
  const file = join(dir, 'mnv2.onnx');
  symlinkSync(MODEL, file);
  writeFileSync(join(dir, 'mnv2.preprocess.json'), JSON.stringify({ size: 224, channels: 3, fit: 'squash', normalize: 'half', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], source: 'TF-slim MobileNetV2' }));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints inputs, the sidecar preprocessing, cut candidates and last:N blocks; --json agrees with selectTrainable', async () => {
    const r = await runCli(['backbone', 'inspect', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/input\s+\[batch,3,224,224\]\s+float32/);
    expect(r.stdout).toContain('data.preprocess: { size: 224, channels: 3, normalize: half }');
    expect(r.stdout).toMatch(/embedding \(pooled\)\s+embedding\s+\[1,1280\]/);
    expect(r.stdout).toMatch(/features \(map\)\s+features\s+\[1,1280,7,7\]/);
    expect(r.stdout).toContain('last N of 52 weight layers (nodes with a ≥ 2-D weight: 52 Conv');
    expect(r.stdout).toMatch(/last:1\s+n60_conv_2d\s+\[1,320,7,7\]/);

    const j = await runCli(['backbone', 'inspect', file, '--json']);
    const info = JSON.parse(j.stdout) as BackboneInspection & { preprocess: { normalize: string } };
    expect(info.preprocess.normalize).toBe('half');
    const net = createBackbone(MODEL, { numClasses: 2, rng: new Rng(0) });
    const head = new Set(net.head);
    // For every block boundary, last:N trains exactly the params of the last N layers inspect lists.
    for (const b of info.blocks.slice(0, 6)) {
      const want = info.layers.slice(info.layers.length - b.to).flatMap((l) => l.params).sort();
      expect(selectTrainable(net, `last:${b.to}`).filter((p) => !head.has(p)).sort(), `last:${b.to}`).toEqual(want);
    }
    expect(info.layers).toHaveLength(52);
  }, 60_000);

  it('an unknown model.arch fails in medclass config and in train before the data is opened, listing the built-ins', async () => {
    const cfg = join(dir, 'bad.yaml');
    writeFileSync(cfg, 'data: { source: /nonexistent/images }\nmodel: { arch: resnet50 }\n');
    for (const r of [await runCli(['config', cfg]), await runCli(['train', '--config', cfg, '--out', dir])]) {
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('MC_TRAIN_BAD_CONFIG');
      expect(r.stderr).toMatch(/unknown arch 'resnet50'; built-in: compact-cnn, .*resnet18, vit-small/);
      expect(r.stderr).toContain('tools/export-backbone.py');
      expect(r.stderr).not.toContain('MC_DATA'); // the config was refused before the (missing) data was looked at
    }
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'data: { source: /nonexistent/images }\nmodel: { arch: backbone, backbone: x.onnx }\n');
    const ok = await runCli(['config', '--json', good]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).model.arch).toBe('backbone');
  }, 60_000);
});
