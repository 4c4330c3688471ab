import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/serve/index.js';
import { BIN } from '../helpers/cli.js';
import { dotPng, hugePng } from '../helpers/guard-inputs.js';
import { removeTempDir, trainTinyRun } from '../pipeline/predict-helpers.js';
import { listenLocal, writePhantomPngs } from './serve-helpers.js';

// Input guards of the server over real HTTP: `medclass serve` spawned under /usr/bin/time -v on 127.0.0.1 port 0
// (its peak RSS is printed after it stops), plus in-process servers for the allowedHosts option.
const report = (line: string) => process.stderr.write(`[guards] ${line}\n`);

interface Reply { status: number; body: { code?: string; message?: string; results?: { error?: { code: string }; label?: string }[] }; ms: number }

/** One HTTP request by node:http (fetch may not set Host), its JSON reply and the time to the last byte. */
function call(base: string, method: string, path: string, opts: { body?: Buffer | string; type?: string; host?: string } = {}): Promise<Reply> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = httpRequest({
      host: url.hostname, port: url.port, path: url.pathname + url.search, method,
      headers: { ...(opts.type ? { 'content-type': opts.type } : {}), ...(opts.host !== undefined ? { host: opts.host } : {}) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'), ms: performance.now() - t0 }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const json = (images: Buffer[], extra: Record<string, unknown> = {}) => JSON.stringify({ images: images.map((b) => ({ data: b.toString('base64') })), ...extra });

describe('serve input guards (real HTTP, spawned medclass serve)', () => {
  let runDir = '';
  let cleanup = () => undefined as void;
  const dir = mkdtempSync(join(tmpdir(), 'medclass-guards-serve-'));
  let server: ChildProcess | undefined;
  let stderr = '';
  let base = '';
  let huge: Buffer;
  let dot: Buffer;
  let ok: Buffer;

  beforeAll(async () => {
    ({ runDir, cleanup } = await trainTinyRun('guards-serve'));
    [huge, dot] = await Promise.all([hugePng(), dotPng()]);
    ok = readFileSync((await writePhantomPngs(dir, [0]))[0]!);
    // its own process group: GNU time ignores SIGINT while it waits, so the stop signal goes to the group (time + node)
    server = spawn('/usr/bin/time', ['-v', process.execPath, BIN, 'serve', '--run', runDir, '--port', '0', '--host', '127.0.0.1', '--threads', '1'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    server.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
    base = await new Promise<string>((resolve, reject) => {
      let out = '';
      server!.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /medclass serve: (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      server!.on('exit', () => reject(new Error(`serve exited early: ${stderr}`)));
    });
  }, 180_000);

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.on('exit', r));
      process.kill(-server.pid!, 'SIGINT');
      await exited;
    }
    removeTempDir(dir);
    cleanup();
  });

  it('refuses a 16000×16000 PNG body from its header: 413 MC_DATA_TOO_MANY_PIXELS, in milliseconds', async () => {
    await call(base, 'GET', '/api/health'); // warm
    const r = await call(base, 'POST', '/api/predict', { body: huge, type: 'image/png' });
    expect(r.status).toBe(413);
    expect(r.body).toEqual({ statusCode: 413, code: 'MC_DATA_TOO_MANY_PIXELS', error: 'Payload Too Large', message: 'image #1: 16000×16000 px (256.0 Mpx) is more than the pixel limit of 40.0 Mpx (40000000 px); it was not decoded' });
    report(`POST /api/predict huge.png (${huge.length} bytes): ${r.status} ${r.body.code} in ${r.ms.toFixed(1)} ms`);
    expect(r.ms).toBeLessThan(2000);
  });

  it('four of them in one JSON request: 413 with the code, and /api/health answers meanwhile', async () => {
    const body = json([huge, huge, huge, huge]);
    const [r, health] = await Promise.all([
      call(base, 'POST', '/api/predict', { body, type: 'application/json' }),
      new Promise<Reply>((res) => setTimeout(() => res(call(base, 'GET', '/api/health')), 5)),
    ]);
    expect(r.status).toBe(413);
    expect(r.body.code).toBe('MC_DATA_TOO_MANY_PIXELS');
    expect(r.body.message).toMatch(/^none of the 4 images could be read \(MC_DATA_TOO_MANY_PIXELS: image #1: 16000×16000 px/);
    expect(health.status).toBe(200);
    report(`POST /api/predict 4 × huge.png (${(Buffer.byteLength(body) / 1e6).toFixed(2)} MB JSON): ${r.status} in ${r.ms.toFixed(1)} ms; /api/health meanwhile ${health.ms.toFixed(1)} ms`);
  });

  it('a batch with one good and one huge image answers the good one and the code for the other (200)', async () => {
    const r = await call(base, 'POST', '/api/predict', { body: json([ok, huge]), type: 'application/json' });
    expect(r.status).toBe(200);
    expect(r.body.results![0]!.label).toMatch(/^(normal|lesion)$/);
    expect(r.body.results![1]!.error?.code).toBe('MC_DATA_TOO_MANY_PIXELS');
  });

  it('a 1×1 image: 422 MC_DATA_IMAGE_TOO_SMALL', async () => {
    const r = await call(base, 'POST', '/api/predict', { body: dot, type: 'image/png' });
    expect([r.status, r.body.code, r.body.message]).toEqual([422, 'MC_DATA_IMAGE_TOO_SMALL', 'image #1: 1×1 px is smaller than the minimum of 8 px per side']);
    report(`POST /api/predict dot.png: ${r.status} ${r.body.code}: ${r.body.message}`);
  });

  it('meta sent to an image-only run: 400 MC_SERVE_UNEXPECTED_META on predict and explain (was 500 MC_SERVE_INTERNAL)', async () => {
    for (const route of ['/api/predict', '/api/explain']) {
      const r = await call(base, 'POST', route, { body: json([ok], { meta: { age: 45 } }), type: 'application/json' });
      expect([route, r.status, r.body.code]).toEqual([route, 400, 'MC_SERVE_UNEXPECTED_META']);
      if (route === '/api/predict') report(`POST /api/predict with meta: ${r.status} ${r.body.code}: ${r.body.message}`);
    }
  });

  it('refuses a Host header that is not a name of the server (403 MC_SERVE_BAD_HOST); loopback names with or without port pass', async () => {
    const port = new URL(base).port;
    for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1.nip.io:${port}`, 'local host']) {
      const r = await call(base, 'GET', '/api/health', { host });
      expect([host, r.status, r.body.code]).toEqual([host, 403, 'MC_SERVE_BAD_HOST']);
    }
    // HTTP/1.0 without any Host header (node refuses that itself for HTTP/1.1)
    const bare = await new Promise<string>((resolve, reject) => {
      const sock = connect(Number(port), '127.0.0.1', () => sock.end('GET /api/health HTTP/1.0\r\n\r\n'));
      let text = '';
      sock.on('data', (c: Buffer) => { text += c.toString(); });
      sock.on('end', () => resolve(text));
      sock.on('error', reject);
    });
    expect(bare).toMatch(/^HTTP\/1\.1 403 /);
    expect(bare).toContain('"code":"MC_SERVE_BAD_HOST"');
    const page = await call(base, 'POST', '/api/predict', { body: ok, type: 'image/png', host: `attacker.test:${port}` });
    expect([page.status, page.body.code]).toEqual([403, 'MC_SERVE_BAD_HOST']);
    for (const host of [`localhost:${port}`, 'localhost', `127.0.0.1:${port}`, `[::1]:${port}`, '[::1]', `LOCALHOST.:${port}`]) {
      expect([host, (await call(base, 'GET', '/api/health', { host })).status]).toEqual([host, 200]);
    }
    const r = await call(base, 'GET', '/api/health', { host: `evil.example:${port}` });
    report(`GET /api/health with Host evil.example:${port}: ${r.status} ${r.body.code}: ${r.body.message}`);
  });

  it("allowedHosts (in-process server, 127.0.0.1 port 0) accepts the names it lists, and every name with '*'", async () => {
    const named = buildServer(runDir, { threads: 1, allowedHosts: ['medclass.lan'] });
    const open = buildServer(runDir, { threads: 1, allowedHosts: ['*'] });
    try {
      const a = await listenLocal(named);
      const b = await listenLocal(open);
      expect((await call(a, 'GET', '/api/health', { host: 'medclass.lan:8080' })).status).toBe(200);
      expect((await call(a, 'GET', '/api/health', { host: 'MedClass.LAN' })).status).toBe(200);
      expect((await call(a, 'GET', '/api/health', { host: 'other.lan' })).status).toBe(403);
      expect((await call(b, 'GET', '/api/health', { host: 'anything.example' })).status).toBe(200);
    } finally {
      await named.close();
      await open.close();
    }
  });

  it('after SIGINT the server has stayed small: peak RSS from /usr/bin/time -v', async () => {
    const exited = new Promise<number | null>((r) => server!.on('exit', (code) => r(code)));
    process.kill(-server!.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
    expect(rss).not.toBeNull();
    const mb = Number(rss![1]) / 1024;
    report(`medclass serve peak RSS over all requests above (huge.png ×6 refused): ${mb.toFixed(0)} MB`);
    expect(mb).toBeLessThan(600); // decoding one of them took 1.44 GB before the guard (issue 11)
  });
});
