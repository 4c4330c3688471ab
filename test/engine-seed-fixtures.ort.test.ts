// The seeds' backbones (EfficientNet-B0, ResNet-50, DenseNet-121, ViT-B/16; shallow variants of the same blocks at
// 32 px, batch 2) exported by tools/gen-backbone-fixtures.py with PyTorch, random weights, into a temp dir: the
// engine's loss and gradients of every trainable initializer match PyTorch's within the fixture tolerance.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_TOLERANCE, checkFixture, fixturePasses } from '../src/engine/check.js';

const TOOL = new URL('../tools/gen-backbone-fixtures.py', import.meta.url).pathname;
const CASES = ['efficientnet_b0_small', 'resnet50_small', 'densenet121_small', 'vit_b_16_small'];

describe('seed backbone fixtures (PyTorch reference gradients)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'medclass-seed-fixtures-'));
  beforeAll(async () => {
    await promisify(execFile)('/usr/bin/python3', [TOOL, dir, '--small', '--input-size', '32', '--batch', '2'], { maxBuffer: 16 << 20 });
  }, 240_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(CASES)('%s: loss and every gradient within the tolerance', async (c) => {
    const meta = JSON.parse(readFileSync(join(dir, c, 'meta.json'), 'utf8')) as { trainable: string[]; unmapped_params: string[] };
    // Every PyTorch parameter is an ONNX initializer the reference covers (none was folded out of reach).
    expect(meta.unmapped_params).toEqual([]);
    const r = await checkFixture(join(dir, c), { threads: 2 });
    expect(r.maxGradRelError, `${c} worst ${r.worstParam}`).toBeLessThan(FIXTURE_TOLERANCE);
    expect(r.lossRelError).toBeLessThan(FIXTURE_TOLERANCE);
    expect(fixturePasses(r)).toBe(true);
    expect(r.params).toBeGreaterThan(100_000);
  }, 120_000);
});
