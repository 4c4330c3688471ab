import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { freeCores, spinWhenIdle } from '../../src/engine/runtime/free-cores.js';

describe('freeCores / spinWhenIdle', () => {
  it('measures idle cores within [0, cpus] and never spins for more threads than the machine has', async () => {
    const free = await freeCores();
    expect(free).toBeGreaterThanOrEqual(0);
    expect(free).toBeLessThanOrEqual(cpus().length);
    expect(await spinWhenIdle(cpus().length + 1)).toBe(false);
  });

  it('sees a core taken by a busy thread (a fresh figure)', async () => {
    const busy = new Worker('const end = Date.now() + 1500; while (Date.now() < end);', { eval: true });
    await new Promise((r) => setTimeout(r, 200));
    const free = await freeCores(0);
    await busy.terminate();
    expect(free).toBeLessThanOrEqual(cpus().length - 0.5);
  });
});
