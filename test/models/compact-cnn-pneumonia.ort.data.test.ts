import { describe, expect, it } from 'vitest';
import { trainPneumonia } from './pneumonia-helpers.js';

describe('compact-cnn on PneumoniaMNIST (28 px, official split)', () => {
  it('trains from scratch with training-mode batch-norm for 2 epochs to test AUC ≥ 0.90; the exported ONNX gives the eval-mode logits', async () => {
    // Half width (16/32/64 channels) keeps the run well inside the 3-minute budget on 2 shared cores.
    const r = await trainPneumonia({ epochs: 2, width: 0.5, seed: 0 });
    const summary = `AUC ${r.testAuc.toFixed(4)}, ACC ${r.testAcc.toFixed(4)}, ${r.trainSeconds.toFixed(1)} s, ${r.imagesPerSecond.toFixed(0)} img/s, export diff ${r.exportMaxAbsDiff.toExponential(2)}`;
    expect(r.testAuc, summary).toBeGreaterThanOrEqual(0.9);
    expect(r.exportMaxAbsDiff, summary).toBeLessThan(1e-4);
    // Running statistics moved away from their (0, 1) start.
    expect(r.net.buffers.get('bn0.running_mean')!.some((v) => v !== 0), summary).toBe(true);
  }, 180_000);
});
