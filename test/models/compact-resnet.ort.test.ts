import { afterAll, describe, expect, it } from 'vitest';
import type { Network } from '../../src/engine/index.js';
import { Rng, Session, f32 } from '../../src/engine/index.js';
import { compactResnetWidths, createModel } from '../../src/models/index.js';

const sessions: Session[] = [];
afterAll(async () => { for (const s of sessions) await s.dispose(); });
const count = (net: Network) => [...net.params.values()].reduce((s, v) => s + v.length, 0);

describe('compact-resnet', () => {
  // Parameter counts of the same nets built from torchvision's BasicBlock in PyTorch 1.13 (stem conv + BN, one block
  // per stage with a 1×1 conv–BN shortcut where the shape changes, linear head).
  it.each([
    [1, 2, 1, 28, 1_226_338],
    [3, 4, 1.5, 128, 2_763_892],
    [1, 2, 0.5, 64, 307_506],
  ] as const)('%i ch, %i classes, width %d at %i px: %i parameters as in PyTorch; the graph runs', async (ch, k, width, size, expected) => {
    const net = createModel('compact-resnet', { inChannels: ch, numClasses: k, inputSize: size, width, rng: new Rng(0) });
    expect(count(net)).toBe(expected);
    const s = await Session.create(net.inferenceGraph({ extraOutputs: ['embedding'] }));
    sessions.push(s);
    const x = f32(Float32Array.from({ length: 2 * ch * size * size }, (_, i) => Math.sin(i * 0.37)), [2, ch, size, size]);
    const out = await s.run({ x });
    expect(out.logits!.dims).toEqual([2, k]);
    expect(out.embedding!.dims).toEqual([2, compactResnetWidths(width)[3]]);
  });
  it('refuses inputs below 16 px', () => {
    expect(() => createModel('compact-resnet', { inChannels: 1, numClasses: 2, inputSize: 12, rng: new Rng(0) })).toThrow(/16 px/);
  });
});
