import { NCHWC_DOMAIN } from '../graph/nchwc-lower.js';
import type { Graph } from '../graph/types.js';
import { f32 } from '../tensor.js';
import { Session } from './session.js';

export { NCHWC_DOMAIN };

let probed: Promise<number> | undefined;

/**
 * The channel block of onnxruntime's NCHWc kernels on this CPU (16 with AVX-512, 8 with AVX2), found once per
 * process by running a ReorderInput and reading where channel 0 of the second pixel lands; 0 when the kernels are
 * unavailable (then nothing is lowered to them).
 */
export function nchwcBlockSize(): Promise<number> {
  probed ??= probe();
  return probed;
}

async function probe(): Promise<number> {
  const C = 32, W = 2;
  const g: Graph = {
    name: 'nchwc-probe', opset: 17, extraOpsets: { [NCHWC_DOMAIN]: 1 }, initializers: new Map(), valueInfo: new Map(),
    inputs: [{ name: 'x', dtype: 'float32', dims: [1, C, 1, W] }],
    outputs: [{ name: 'y', dtype: 'float32', dims: [1, C, 1, W] }],
    nodes: [{ opType: 'ReorderInput', name: 'reorder', domain: NCHWC_DOMAIN, inputs: ['x'], outputs: ['y'], attrs: {} }],
  };
  // x[c][w] = c + 100·w: in the blocked layout [C/B][W][B], the value 100 (channel 0, pixel 1) sits at index B.
  const x = f32(Float32Array.from({ length: C * W }, (_, i) => Math.floor(i / W) + 100 * (i % W)), [1, C, 1, W]);
  try {
    const s = await Session.create(g, { threads: 1 });
    try {
      const y = (await s.run({ x })).y!.data as Float32Array;
      const b = y.indexOf(100);
      return b > 1 && C % b === 0 && y[1] === 1 ? b : 0;
    } finally {
      await s.dispose();
    }
  } catch {
    return 0;
  }
}
