// A KServe v2 (Open Inference Protocol, HTTP/REST) client written from kserve/open-inference-protocol's
// specification/protocol/inference_rest.md, against `medclass serve` on 127.0.0.1: its probabilities must be those of
// `medclass predict --json` for the same images.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { phantomSource } from '../../src/data/index.js';
import { buildServer } from '../../src/serve/index.js';
import { runCli } from '../helpers/cli.js';
import { removeTempDir } from '../pipeline/predict-helpers.js';
import { SERVE_SOURCE, listenLocal, trainServeRun, writePhantomPngs } from './serve-helpers.js';

/** `$metadata_tensor` and `$response_output` of the protocol. */
interface MetadataTensor { name: string; datatype: string; shape: number[] }
interface ResponseOutput { name: string; datatype: string; shape: number[]; data: unknown[] }

/** The client's own preprocessing, per docs/serving-platforms.md: grey PNG at the model size → x = pixel / 255 ('none' normalisation), NCHW. */
async function tensorOf(files: readonly string[], size: number): Promise<number[]> {
  const x: number[] = [];
  for (const f of files) {
    const { data, info } = await sharp(readFileSync(f)).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([size, size, 1]);
    for (const v of data) x.push(v / 255);
  }
  return x;
}

describe('KServe v2 HTTP protocol on medclass serve', () => {
  let runDir = '';
  let cleanup = () => {};
  let imgDir = '';
  let files: string[] = [];
  let app: FastifyInstance;
  let url = '';
  let name = '';
  const post = (path: string, body: unknown) => fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    ({ runDir, cleanup } = await trainServeRun('kserve-run'));
    imgDir = mkdtempSync(join(tmpdir(), 'medclass-kserve-img-'));
    const src = phantomSource(SERVE_SOURCE);
    const test = src.items.flatMap((it, i) => (it.split === 'test' ? [i] : []));
    const lesion = test.filter((i) => src.items[i]!.label === 'lesion').slice(0, 2);
    const normal = test.filter((i) => src.items[i]!.label === 'normal').slice(0, 2);
    files = await writePhantomPngs(imgDir, [...lesion, ...normal]);
    app = buildServer(runDir, { threads: 1 });
    url = await listenLocal(app);
    name = basename(runDir);
  }, 180_000);

  afterAll(async () => {
    await app?.close();
    cleanup();
    if (imgDir) removeTempDir(imgDir);
  });

  it('answers health, server metadata and model readiness', async () => {
    for (const path of ['/v2/health/live', '/v2/health/ready', `/v2/models/${name}/ready`, `/v2/models/${name}/versions/1/ready`]) {
      expect((await fetch(`${url}${path}`)).status, path).toBe(200);
    }
    expect(await (await fetch(`${url}/v2/models/${name}/ready`)).json()).toEqual({ name, ready: true });
    const server = await (await fetch(`${url}/v2`)).json() as { name: string; version: string; extensions: string[] };
    expect(server.name).toBe('medclass');
    expect(typeof server.version).toBe('string');
    expect(server.extensions).toEqual([]);
  });

  it('describes the model: name, versions, platform, inputs and outputs with datatype and shape (−1 = variable)', async () => {
    const r = await fetch(`${url}/v2/models/${name}`);
    expect(r.status).toBe(200);
    const m = await r.json() as { name: string; versions: string[]; platform: string; inputs: MetadataTensor[]; outputs: MetadataTensor[] };
    expect(m).toEqual({
      name, versions: ['1'], platform: 'onnxruntime_onnx',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 1, 32, 32] }],
      outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 2] }, { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] }],
    });
    expect(await (await fetch(`${url}/v2/models/${name}/versions/1`)).json()).toEqual(m);
  });

  it('an infer request returns the probabilities of medclass predict for the same images (max |Δp| ≤ 1e-5)', async () => {
    const cli = await runCli(['predict', '--run', runDir, '--json', '--threads', '1', ...files]);
    expect(cli.code, cli.stderr).toBe(0);
    const predicted = (JSON.parse(cli.stdout) as { predictions: { probabilities: Record<string, number>; logits: number[] }[] }).predictions;
    const classes = Object.keys(predicted[0]!.probabilities);
    const x = await tensorOf(files, 32);
    const r = await post(`/v2/models/${name}/infer`, { id: 'req-1', inputs: [{ name: 'x', shape: [files.length, 1, 32, 32], datatype: 'FP32', data: x }] });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await r.json() as { model_name: string; model_version: string; id: string; outputs: ResponseOutput[] };
    expect([body.model_name, body.model_version, body.id]).toEqual([name, '1', 'req-1']);
    expect(body.outputs.map((o) => [o.name, o.datatype, o.shape])).toEqual([['logits', 'FP32', [4, 2]], ['probabilities', 'FP32', [4, 2]]]);
    const p = body.outputs[1]!.data as number[];
    const expected = predicted.flatMap((q) => classes.map((c) => q.probabilities[c]!));
    const dp = Math.max(...p.map((v, i) => Math.abs(v - expected[i]!)));
    const dl = Math.max(...(body.outputs[0]!.data as number[]).map((v, i) => Math.abs(v - predicted.flatMap((q) => q.logits)[i]!)));
    process.stderr.write(`[kserve] ${files.length} images: max |Δp| KServe v2 vs medclass predict = ${dp.toExponential(2)}, max |Δlogit| = ${dl.toExponential(2)}\n`);
    expect(dp).toBeLessThanOrEqual(1e-5);
    expect(dl).toBeLessThanOrEqual(1e-5);
    // the run is trained well enough that the test is not passed by flat probabilities
    expect(Math.max(...p) - Math.min(...p)).toBeGreaterThan(0.5);
  });

  it('accepts nested row-major data, returns only the requested outputs, and the classification extension', async () => {
    const x = await tensorOf(files.slice(0, 2), 32);
    const nested = [0, 1].map((i) => [Array.from({ length: 32 }, (_, y) => x.slice(i * 1024 + y * 32, i * 1024 + (y + 1) * 32))]);
    const flat = await (await post(`/v2/models/${name}/infer`, { inputs: [{ name: 'x', shape: [2, 1, 32, 32], datatype: 'FP32', data: x }], outputs: [{ name: 'probabilities' }] })).json() as { id?: string; outputs: ResponseOutput[] };
    expect(flat.id).toBeUndefined();
    expect(flat.outputs.map((o) => o.name)).toEqual(['probabilities']);
    const deep = await (await post(`/v2/models/${name}/infer`, { inputs: [{ name: 'x', shape: [2, 1, 32, 32], datatype: 'FP32', data: nested }], outputs: [{ name: 'probabilities' }] })).json() as { outputs: ResponseOutput[] };
    expect(deep.outputs[0]!.data).toEqual(flat.outputs[0]!.data);
    const top = await (await post(`/v2/models/${name}/infer`, { inputs: [{ name: 'x', shape: [2, 1, 32, 32], datatype: 'FP32', data: x }], outputs: [{ name: 'probabilities', parameters: { classification: 1 } }] })).json() as { outputs: ResponseOutput[] };
    expect(top.outputs[0]!.datatype).toBe('BYTES');
    expect(top.outputs[0]!.shape).toEqual([2, 1]);
    const p = flat.outputs[0]!.data as number[];
    (top.outputs[0]!.data as string[]).forEach((s, i) => {
      const [score, index, label] = s.split(':');
      const best = p[2 * i]! >= p[2 * i + 1]! ? 0 : 1;
      expect([Number(score), Number(index), label]).toEqual([p[2 * i + best], best, ['normal', 'lesion'][best]]);
    });
  });

  it('parameters.tta averages with the horizontal flip as predict --tta does', async () => {
    const cli = await runCli(['predict', '--run', runDir, '--json', '--threads', '1', '--tta', ...files]);
    expect(cli.code, cli.stderr).toBe(0);
    const want = (JSON.parse(cli.stdout) as { predictions: { probabilities: Record<string, number> }[] }).predictions.flatMap((q) => Object.values(q.probabilities));
    const x = await tensorOf(files, 32);
    const infer = async (parameters: Record<string, unknown>) => post(`/v2/models/${name}/infer`, { parameters, inputs: [{ name: 'x', shape: [files.length, 1, 32, 32], datatype: 'FP32', data: x }], outputs: [{ name: 'probabilities' }] });
    const on = await (await infer({ tta: true })).json() as { parameters: { tta: boolean }; outputs: ResponseOutput[] };
    const off = await (await infer({ tta: false })).json() as { outputs: ResponseOutput[] };
    expect(on.parameters.tta).toBe(true);
    const p = on.outputs[0]!.data as number[];
    expect(Math.max(...p.map((v, i) => Math.abs(v - want[i]!)))).toBeLessThanOrEqual(1e-5);
    expect(Math.max(...p.map((v, i) => Math.abs(v - (off.outputs[0]!.data as number[])[i]!)))).toBeGreaterThan(1e-4);
    const bad = await infer({ tta: 'yes' });
    expect([bad.status, await bad.json()]).toEqual([400, { error: expect.stringMatching(/tta must be a boolean/) }]);
  });

  it('answers errors as {"error": "<message>"} with a 4xx status', async () => {
    const x = Array.from({ length: 1024 }, () => 0.5);
    const cases: [string, unknown, number, RegExp][] = [
      [`/v2/models/nope/infer`, { inputs: [{ name: 'x', shape: [1, 1, 32, 32], datatype: 'FP32', data: x }] }, 404, /MC_SERVE_UNKNOWN_MODEL/],
      [`/v2/models/${name}/versions/2/infer`, { inputs: [{ name: 'x', shape: [1, 1, 32, 32], datatype: 'FP32', data: x }] }, 404, /version '2'/],
      [`/v2/models/${name}/infer`, { inputs: [{ name: 'x', shape: [1, 1, 32, 31], datatype: 'FP32', data: x }] }, 400, /expected shape \[-1,1,32,32\]/],
      [`/v2/models/${name}/infer`, { inputs: [{ name: 'x', shape: [1, 1, 32, 32], datatype: 'FP64', data: x }] }, 400, /datatype FP64/],
      [`/v2/models/${name}/infer`, { inputs: [{ name: 'x', shape: [1, 1, 32, 32], datatype: 'FP32', data: x.slice(1) }] }, 400, /1023 elements/],
      [`/v2/models/${name}/infer`, { inputs: [{ name: 'x', shape: [1, 1, 32, 32], datatype: 'FP32', data: ['a', ...x.slice(1)] }] }, 400, /must be numbers/],
      [`/v2/models/${name}/infer`, { inputs: [{ name: 'x', shape: [1, 1, 32, 32], datatype: 'FP32', data: x }], outputs: [{ name: 'features' }] }, 400, /output 'features'/],
      [`/v2/models/${name}/infer`, { inputs: [{ name: 'image', shape: [1], datatype: 'UINT8', data: [1] }] }, 400, /input 'image' is not an input/],
      [`/v2/models/${name}/infer`, { inputs: [] }, 400, /MC_SERVE_BAD_REQUEST/],
    ];
    for (const [path, body, status, message] of cases) {
      const r = await post(path, body);
      const reply = await r.json() as Record<string, unknown>;
      expect(r.status, path).toBe(status);
      expect(Object.keys(reply), path).toEqual(['error']);
      expect(reply.error, path).toMatch(message);
    }
    const notFound = await fetch(`${url}/v2/models/${name}/stats`);
    expect(notFound.status).toBe(404);
    expect(Object.keys(await notFound.json() as object)).toEqual(['error']);
    const binary = await fetch(`${url}/v2/models/${name}/infer`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array(16) });
    expect(binary.status).toBe(415);
    expect((await binary.json() as { error: string }).error).toMatch(/binary tensor data extension/);
  });
});
