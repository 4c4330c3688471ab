import { describe, expect, it } from 'vitest';
import { isMedclassError } from '../../src/errors.js';
import { SerialQueue } from '../../src/serve/resources.js';
import { errorReply } from '../../src/serve/index.js';

describe('SerialQueue', () => {
  it('runs jobs one at a time in arrival order and refuses beyond maxQueue with MC_SERVE_BUSY', async () => {
    const q = new SerialQueue(2);
    const order: string[] = [];
    let running = 0;
    const job = (name: string) => async () => {
      running++;
      expect(running).toBe(1);
      order.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, 5));
      order.push(`end ${name}`);
      running--;
      return name;
    };
    const a = q.run(job('a'));
    const b = q.run(job('b'));
    const c = q.run(job('c')).catch((e: unknown) => e);
    expect(await a).toBe('a');
    expect(await b).toBe('b');
    const busy = await c;
    expect(isMedclassError(busy, 'MC_SERVE_BUSY')).toBe(true);
    expect(errorReply(busy).reply.statusCode).toBe(503);
    expect(order).toEqual(['start a', 'end a', 'start b', 'end b']);
    expect(await q.run(async () => 'after')).toBe('after'); // the queue drained
  });

  it('a failing job rejects its own caller only', async () => {
    const q = new SerialQueue(4);
    const bad = q.run(async () => { throw new Error('boom'); });
    const good = q.run(async () => 42);
    await expect(bad).rejects.toThrow('boom');
    expect(await good).toBe(42);
  });

  it('unknown errors become a 500 MC_SERVE_INTERNAL without their message', () => {
    const { reply, internal } = errorReply(new Error('/data/patients/jane.png: EACCES'));
    expect(reply).toEqual({ statusCode: 500, code: 'MC_SERVE_INTERNAL', error: 'Internal Server Error', message: expect.not.stringContaining('jane') });
    expect(internal).toBe(true);
  });
});
