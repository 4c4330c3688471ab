import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkFixture, FIXTURE_TOLERANCE, fixturePasses } from '../../src/engine/index.js';

const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/autodiff/', import.meta.url));

describe('engine matches PyTorch on the autodiff fixtures (loss, gradients, SGD step, 3 AdamW steps)', () => {
  // mobilenet_v2 (2.2 M parameters, 52 convs) compiles and runs in about 2 s here, so it stays in the suite.
  for (const name of ['mlp', 'bn_mlp', 'small_cnn', 'resblock', 'mbconv', 'tiny_vit', 'mobilenet_v2']) {
    it(`${name}: every error ≤ ${FIXTURE_TOLERANCE}`, async () => {
      const r = await checkFixture(`${FIXTURES}${name}`, { threads: 1 });
      expect(r.lossRelError).toBeLessThanOrEqual(FIXTURE_TOLERANCE);
      expect(r.maxGradRelError, `worst parameter ${r.worstParam}`).toBeLessThanOrEqual(FIXTURE_TOLERANCE);
      if (name !== 'mobilenet_v2') {
        expect(r.sgdError).toBeLessThanOrEqual(FIXTURE_TOLERANCE);
        expect(r.adamwError).toBeLessThanOrEqual(FIXTURE_TOLERANCE);
        expect(r.adamwLossError).toBeLessThanOrEqual(FIXTURE_TOLERANCE);
      }
      expect(fixturePasses(r)).toBe(true);
    });
  }

  it('a graph specialised to the batch size gives the same results as the symbolic-batch graph', async () => {
    const fixed = await checkFixture(`${FIXTURES}small_cnn`, { threads: 1, batchSize: 'fixed' });
    const dynamic = await checkFixture(`${FIXTURES}small_cnn`, { threads: 1 });
    expect(fixed.maxGradRelError).toBeLessThanOrEqual(FIXTURE_TOLERANCE);
    expect(Math.abs(fixed.maxGradRelError - dynamic.maxGradRelError)).toBeLessThan(1e-6);
  });

  it('tiny_vit AdamW: only round-off gradient entries (attention key biases, exactly 0 in exact arithmetic) are left out', async () => {
    const r = await checkFixture(`${FIXTURES}tiny_vit`, { threads: 1 });
    // 2 blocks × 32 key-bias entries, plus one more entry below 1e-6 of its tensor's max.
    expect(r.adamwNoiseEntries).toBeLessThanOrEqual(70);
  });
});
