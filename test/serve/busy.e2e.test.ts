// MC_SERVE_BUSY over real HTTP: the model's serial queue full, filled deterministically.
//
// The server runs in this process, so its event loop is the test's. Every request is written on its own connected
// socket in one synchronous block; the server then reads all of them in one poll phase, and each handler reaches the
// queue before the first model job can finish (that job waits on sharp and onnxruntime work in the thread pool, whose
// completion comes in a later poll phase). So with `maxQueue` m, of m + 2 simultaneous requests exactly m are admitted
// and 2 answer 503, whatever the machine's load.
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { phantomSource } from '../../src/data/index.js';
import { buildServer } from '../../src/serve/index.js';
import { removeTempDir } from '../pipeline/predict-helpers.js';
import { SERVE_SOURCE, listenLocal, trainServeRun, writePhantomPngs } from './serve-helpers.js';

interface RawReply { status: number; headers: string; body: string }

/** Opens `n` connections and resolves once the server has accepted every one of them. */
async function openSockets(app: FastifyInstance, port: number, n: number): Promise<Socket[]> {
  let accepted = 0;
  const all = new Promise<void>((resolve) => {
    const on = () => { if (++accepted === n) { app.server.off('connection', on); resolve(); } };
    app.server.on('connection', on);
  });
  const sockets = await Promise.all(Array.from({ length: n }, () => new Promise<Socket>((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  })));
  await all;
  return sockets;
}

/** The whole reply on a socket (the request asked for `connection: close`). */
function readReply(s: Socket): Promise<RawReply> {
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  return new Promise((resolve, reject) => {
    s.on('error', reject);
    s.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1]), headers: text.slice(0, split), body: text.slice(split + 4) });
    });
  });
}

/** Writes the same raw `POST /api/predict` on every socket, all in this synchronous call, and collects the replies. */
function postAtOnce(sockets: Socket[], port: number, png: Buffer): Promise<RawReply[]> {
  const head = Buffer.from(`POST /api/predict HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: image/png\r\ncontent-length: ${png.length}\r\nconnection: close\r\n\r\n`);
  const replies = sockets.map(readReply);
  for (const s of sockets) s.write(Buffer.concat([head, png]));
  return Promise.all(replies);
}

describe('medclass serve under more requests than maxQueue', () => {
  let out = '';
  let runDir = '';
  let cleanup = () => {};
  let png = Buffer.alloc(0);

  beforeAll(async () => {
    ({ runDir, cleanup } = await trainServeRun('serve-busy'));
    out = mkdtempSync(join(tmpdir(), 'medclass-busy-'));
    const test = phantomSource(SERVE_SOURCE).items.findIndex((it) => it.split === 'test');
    png = readFileSync((await writePhantomPngs(out, [test]))[0]!);
  }, 180_000);

  afterAll(() => {
    cleanup();
    if (out) removeTempDir(out);
  });

  for (const maxQueue of [1, 2]) {
    it(`maxQueue ${maxQueue}: of ${maxQueue + 2} simultaneous predictions ${maxQueue} answer 200 and 2 answer 503 MC_SERVE_BUSY; then the queue has drained`, async () => {
      const app = buildServer(runDir, { threads: 1, maxQueue });
      try {
        const url = await listenLocal(app);
        const port = Number(new URL(url).port);
        const replies = await postAtOnce(await openSockets(app, port, maxQueue + 2), port, png);
        const ok = replies.filter((r) => r.status === 200);
        const busy = replies.filter((r) => r.status !== 200);
        expect(replies.map((r) => r.status).sort()).toEqual([...Array<number>(maxQueue).fill(200), 503, 503]);
        for (const r of ok) expect(JSON.parse(r.body).results[0].label).toMatch(/^(normal|lesion)$/);
        for (const r of busy) {
          const body = JSON.parse(r.body);
          expect(body).toEqual({ statusCode: 503, code: 'MC_SERVE_BUSY', error: 'Service Unavailable', message: expect.stringContaining(`maxQueue ${maxQueue}`) });
          expect(r.headers).toMatch(/\r\ncontent-type: application\/json/i);
          expect(r.headers).toMatch(/\r\nretry-after: [1-9]\d*\r?$/im); // whole seconds, at least 1
        }
        // every admitted job has finished: the next request (over fetch) is admitted again
        const after = await fetch(`${url}/api/predict`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: png });
        expect(after.status).toBe(200);
        expect(((await after.json()) as { results: { probabilities: unknown }[] }).results[0]!.probabilities).toEqual(JSON.parse(ok[0]!.body).results[0].probabilities);
      } finally {
        await app.close();
      }
    });
  }
});
