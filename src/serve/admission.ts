import type { FastifyReply, FastifyRequest } from 'fastify';
import { MedclassError } from '../errors.js';

/**
 * The bounded admission queue of the image routes: at most `maxQueue` requests are in the server at once (body being
 * read, images decoding, waiting for or inside a batch). One more is refused in its `onRequest` hook, before its body
 * is read or parsed, with 503 `MC_SERVE_BUSY` and `Retry-After` (whole seconds, from the recent time an admitted
 * request took), so refusals cost almost nothing and admitted requests keep the cores.
 */
export class Admission {
  private inFlight = 0;
  private meanMs = 0;
  /** requests refused since the server started */
  refused = 0;

  constructor(readonly maxQueue: number, private readonly busyDelayMs = 0) {}

  /** Seconds a refused client should wait: the mean time of recent admitted requests, at least 1. */
  retryAfter(): number {
    return Math.max(1, Math.ceil(this.meanMs / 1000));
  }

  /** The route hook: admits the request (released when its response closes) or throws `MC_SERVE_BUSY` with `Retry-After` set. */
  readonly onRequest = async (_req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (this.inFlight >= this.maxQueue) {
      this.refused++;
      // Held a moment before answering (a timer, no CPU): a client that ignores Retry-After cannot turn the cores into refusals.
      if (this.busyDelayMs > 0) await new Promise((r) => setTimeout(r, this.busyDelayMs));
      reply.header('retry-after', String(this.retryAfter()));
      throw new MedclassError('MC_SERVE_BUSY', `${this.inFlight} requests are already admitted (maxQueue ${this.maxQueue}); retry after ${this.retryAfter()} s`);
    }
    this.inFlight++;
    const t0 = performance.now();
    let done = false;
    reply.raw.once('close', () => {
      if (done) return;
      done = true;
      this.inFlight--;
      const ms = performance.now() - t0;
      this.meanMs = this.meanMs === 0 ? ms : 0.9 * this.meanMs + 0.1 * ms;
    });
  };
}
