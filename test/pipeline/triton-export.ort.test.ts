// medclass export --triton: config.pbtxt read by a text-format reader written here and checked against Triton's
// ModelConfig message (test/fixtures/triton/model_config.proto, protobufjs); the exported model run in onnxruntime
// with the inputs the config declares; the uint8 raw-input graph gives the probabilities of predict.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { phantomSource } from '../../src/data/index.js';
import { Session, loadModel, saveModel, type Tensor } from '../../src/engine/index.js';
import { RunModel, buildServingGraph, exportTriton, predictImages } from '../../src/pipeline/index.js';
import { runCli } from '../helpers/cli.js';
import { SERVE_SOURCE, trainServeRun, writePhantomPngs } from '../serve/serve-helpers.js';
import { removeTempDir } from './predict-helpers.js';

type Pb = Record<string, unknown>;

/** Protobuf text format (as Triton's config.pbtxt): `name: value`, `name { … }`, `name: [ … ]`, `#` comments. */
function readTextFormat(text: string): Record<string, unknown[]> {
  const tokens = text.replace(/#[^\n]*/g, '').match(/"(?:[^"\\]|\\.)*"|[{}[\]:,<>;]|[^\s{}[\]:,<>;"]+/g) ?? [];
  let i = 0;
  const value = (): unknown => {
    const t = tokens[i++]!;
    if (t === '{' || t === '<') return message(t === '{' ? '}' : '>');
    if (t.startsWith('"')) return JSON.parse(t);
    if (/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) return Number(t);
    if (t === 'true' || t === 'false') return t === 'true';
    if (/^[A-Za-z_]\w*$/.test(t)) return t; // an enum value name
    throw new Error(`pbtxt: unexpected token '${t}'`);
  };
  const message = (end?: string): Record<string, unknown[]> => {
    const m: Record<string, unknown[]> = {};
    while (i < tokens.length && tokens[i] !== end) {
      const name = tokens[i++]!;
      if (!/^[A-Za-z_]\w*$/.test(name)) throw new Error(`pbtxt: expected a field name, got '${name}'`);
      if (tokens[i] === ':') i++;
      const vals: unknown[] = [];
      if (tokens[i] === '[') {
        i++;
        while (tokens[i] !== ']') { vals.push(value()); if (tokens[i] === ',') i++; }
        i++;
      } else vals.push(value());
      (m[name] ??= []).push(...vals);
      if (tokens[i] === ',' || tokens[i] === ';') i++;
    }
    if (end) { if (tokens[i] !== end) throw new Error(`pbtxt: missing '${end}'`); i++; }
    return m;
  };
  return message();
}

/** The reader's field → values lists as the message's JSON object: singular fields (per the schema) take their one value. */
function shape(m: Record<string, unknown[]>, type: protobuf.Type): Pb {
  const out: Pb = {};
  for (const [k, vals] of Object.entries(m)) {
    const f = type.fields[k];
    const conv = (v: unknown) => (f?.resolvedType instanceof protobuf.Type ? shape(v as Record<string, unknown[]>, f.resolvedType) : v);
    out[k] = f?.repeated ? vals.map(conv) : vals.length === 1 ? conv(vals[0]) : vals.map(conv);
  }
  return out;
}

const root = new protobuf.Root().loadSync(new URL('../fixtures/triton/model_config.proto', import.meta.url).pathname, { keepCase: true });
const ModelConfig = root.lookupType('inference.ModelConfig');
ModelConfig.resolveAll();

/** config.pbtxt → ModelConfig: fromObject, verify, and a round trip back to the same object (no unknown field or enum name). */
function parseConfig(text: string): { obj: Pb; verify: string | null } {
  const obj = shape(readTextFormat(text), ModelConfig);
  const msg = ModelConfig.fromObject(obj);
  const verify = ModelConfig.verify(msg);
  expect(ModelConfig.toObject(msg, { enums: String, longs: Number })).toEqual(obj);
  return { obj, verify };
}

const ARRAYS = { TYPE_FP32: Float32Array, TYPE_UINT8: Uint8Array } as const;

/** Grey PNG → uint8 HWC pixels (sharp, not medclass's decoder). */
async function pixels(file: string): Promise<Uint8Array> {
  const { data, info } = await sharp(readFileSync(file)).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  expect([info.width, info.height]).toEqual([32, 32]);
  return new Uint8Array(data);
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));

describe('medclass export --triton', () => {
  let runDir = '';
  let cleanup = () => {};
  let dir = '';
  let files: string[] = [];
  let expected: number[] = [];
  const sessions: Session[] = [];
  const open = async (bytes: Uint8Array) => { const s = await Session.create(bytes, { threads: 1 }); sessions.push(s); return s; };

  beforeAll(async () => {
    ({ runDir, cleanup } = await trainServeRun('triton-run'));
    dir = mkdtempSync(join(tmpdir(), 'medclass-triton-'));
    const src = phantomSource(SERVE_SOURCE);
    files = await writePhantomPngs(dir, src.items.flatMap((it, i) => (it.split === 'test' ? [i] : [])).slice(0, 5));
    const preds = await predictImages(runDir, files, { threads: 1 });
    expected = preds.flatMap((p) => (p.error ? [] : Object.values(p.probabilities)));
  }, 180_000);

  afterAll(async () => {
    for (const s of sessions) await s.dispose();
    cleanup();
    if (dir) removeTempDir(dir);
  });

  it('writes config.pbtxt that parses as Triton ModelConfig, and a model that runs with the inputs it declares', async () => {
    const r = await runCli(['export', '--run', runDir, '--triton', join(dir, 'repo'), '--name', 'phantom', '--max-batch-size', '8']);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(join(dir, 'repo', 'phantom', 'config.pbtxt'), 'utf8');
    process.stderr.write(`[triton] config.pbtxt (float input):\n${text}`);
    const { obj: c, verify } = parseConfig(text);
    expect(verify).toBeNull();
    expect(c).toMatchObject({ name: 'phantom', platform: 'onnxruntime_onnx', max_batch_size: 8, dynamic_batching: {} });
    expect(c.input).toEqual([{ name: 'x', data_type: 'TYPE_FP32', format: 'FORMAT_NCHW', dims: [1, 32, 32] }]);
    expect(c.output).toEqual([
      { name: 'logits', data_type: 'TYPE_FP32', dims: [2] },
      { name: 'probabilities', data_type: 'TYPE_FP32', dims: [2], label_filename: 'labels.txt' },
    ]);
    expect(readFileSync(join(dir, 'repo', 'phantom', 'labels.txt'), 'utf8')).toBe('normal\nlesion\n');
    // feeds built from the config alone: batch 5 + dims, the client's x = pixel / 255 ('none' normalisation)
    const s = await open(new Uint8Array(readFileSync(join(dir, 'repo', 'phantom', '1', 'model.onnx'))));
    const px = (await Promise.all(files.map(pixels))).flatMap((p) => Array.from(p, (v) => v / 255));
    const feeds: Record<string, Tensor> = {};
    for (const inp of c.input as { name: string; data_type: keyof typeof ARRAYS; dims: number[] }[]) {
      feeds[inp.name] = { dtype: 'float32', dims: [files.length, ...inp.dims], data: Float32Array.from(px) } as Tensor;
      expect(ARRAYS[inp.data_type]).toBe(Float32Array);
    }
    const outs = c.output as { name: string; dims: number[] }[];
    const y = await s.run(feeds, outs.map((o) => o.name));
    for (const o of outs) expect(y[o.name]!.dims).toEqual([files.length, ...o.dims]);
    const dp = maxAbs(y.probabilities!.data as Float32Array, expected);
    process.stderr.write(`[triton] float-input export vs predict: max |Δp| = ${dp.toExponential(2)}\n`);
    expect(dp).toBeLessThanOrEqual(1e-5);
  });

  it('the config check fails on a field, enum value or type that ModelConfig does not have', () => {
    const good = 'name: "m"\nplatform: "onnxruntime_onnx"\nmax_batch_size: 4\ninput [ { name: "x" data_type: TYPE_FP32 dims: [ 3 ] } ]\ndynamic_batching { }\n';
    expect(parseConfig(good).verify).toBeNull();
    expect(() => parseConfig(good.replace('dims:', 'dimz:'))).toThrow();
    expect(() => parseConfig(good.replace('TYPE_FP32', 'TYPE_FLOAT32'))).toThrow();
    expect(() => parseConfig(good.replace('max_batch_size: 4', 'max_batch_size: "four"'))).toThrow();
    expect(() => parseConfig(good.replace('dynamic_batching { }', 'dynamic_batching { max_queue_delay: 5 }'))).toThrow();
  });

  it('the uint8 [N,H,W,C] raw-input graph gives the probabilities of predict on images at the model size (1e-5)', async () => {
    const r = await exportTriton(runDir, join(dir, 'repo'), { name: 'phantom_raw', rawInput: true });
    const { obj: c, verify } = parseConfig(r.config);
    expect(verify).toBeNull();
    process.stderr.write(`[triton] config.pbtxt (raw input):\n${r.config}`);
    expect(c.input).toEqual([{ name: 'image', data_type: 'TYPE_UINT8', format: 'FORMAT_NHWC', dims: [32, 32, 1] }]);
    const s = await open(new Uint8Array(readFileSync(join(r.modelDir, '1', 'model.onnx'))));
    const px = new Uint8Array((await Promise.all(files.map(pixels))).flatMap((p) => Array.from(p)));
    const y = await s.run({ image: { dtype: 'uint8', dims: [files.length, 32, 32, 1], data: px } }, ['probabilities']);
    const dp = maxAbs(y.probabilities!.data as Float32Array, expected);
    process.stderr.write(`[triton] raw-input export vs predict: max |Δp| = ${dp.toExponential(2)}\n`);
    expect(dp).toBeLessThanOrEqual(1e-5);
    expect(Math.max(...expected) - Math.min(...expected)).toBeGreaterThan(0.5); // not passed by flat probabilities
  });

  it('rawChannels 3 converts RGB to grey by ITU-R 601-2 luma as predict does on colour images', async () => {
    const colour = await Promise.all(files.map(async (f, i) => {
      const g = await pixels(f);
      const rgb = new Uint8Array(g.length * 3);
      g.forEach((v, p) => { rgb[3 * p] = v; rgb[3 * p + 1] = 255 - v; rgb[3 * p + 2] = (v * 7 + p) % 256; });
      const file = join(dir, `colour-${i}.png`);
      writeFileSync(file, await sharp(Buffer.from(rgb), { raw: { width: 32, height: 32, channels: 3 } }).png().toBuffer());
      return { file, rgb };
    }));
    const want = (await predictImages(runDir, colour.map((c) => c.file), { threads: 1 })).flatMap((p) => (p.error ? [] : Object.values(p.probabilities)));
    const r = await exportTriton(runDir, join(dir, 'repo'), { name: 'phantom_rgb', rawInput: true, rawChannels: 3 });
    expect(parseConfig(r.config).obj.input).toEqual([{ name: 'image', data_type: 'TYPE_UINT8', format: 'FORMAT_NHWC', dims: [32, 32, 3] }]);
    const s = await open(new Uint8Array(readFileSync(join(r.modelDir, '1', 'model.onnx'))));
    const data = new Uint8Array(colour.flatMap((c) => Array.from(c.rgb)));
    const y = await s.run({ image: { dtype: 'uint8', dims: [colour.length, 32, 32, 3], data } }, ['probabilities']);
    expect(maxAbs(y.probabilities!.data as Float32Array, want)).toBeLessThanOrEqual(1e-5);
  });

  it('carries mean/std normalisation and flip TTA as documented', async () => {
    const m = await RunModel.open(runDir, { threads: 1 });
    const base = loadModel(join(runDir, 'model.onnx'));
    const px = (await Promise.all(files.map(pixels))).flatMap((p) => Array.from(p));
    const n = files.length;
    try {
      // ImageNet grey statistics: the raw graph must equal the float graph fed (v/255 − 0.449)/0.226
      const pre = { ...m.preprocess, normalize: 'imagenet' as const };
      const raw = await open(new Uint8Array(saveModel(buildServingGraph(base, pre, { rawInput: true, temperature: 2, tta: false }))));
      const flt = await open(new Uint8Array(saveModel(buildServingGraph(base, pre, { rawInput: false, temperature: 2, tta: false }))));
      const a = await raw.run({ image: { dtype: 'uint8', dims: [n, 32, 32, 1], data: Uint8Array.from(px) } }, ['logits']);
      const b = await flt.run({ x: { dtype: 'float32', dims: [n, 1, 32, 32], data: Float32Array.from(px, (v) => (v / 255 - 0.449) / 0.226) } }, ['logits']);
      expect(maxAbs(a.logits!.data as Float32Array, b.logits!.data as Float32Array)).toBeLessThanOrEqual(1e-4);
      // TTA: logits averaged with the horizontal flip's, as RunModel.logits(…, {tta: true})
      const tta = await open(new Uint8Array(saveModel(buildServingGraph(base, m.preprocess, { rawInput: false, temperature: m.temperature, tta: true }))));
      const x = Float32Array.from(px, (v) => v / 255);
      const t = await tta.run({ x: { dtype: 'float32', dims: [n, 1, 32, 32], data: x } }, ['logits', 'probabilities']);
      const want = await m.logits(x, n, { tta: true });
      expect(maxAbs(t.logits!.data as Float32Array, want)).toBeLessThanOrEqual(1e-5);
      const plain = await m.logits(x, n, { tta: false });
      expect(maxAbs(want, plain)).toBeGreaterThan(1e-4); // the flip changes the logits, so the check above means something
      const tp = (await predictImages(runDir, files, { threads: 1, tta: true })).flatMap((p) => (p.error ? [] : Object.values(p.probabilities)));
      expect(maxAbs(t.probabilities!.data as Float32Array, tp)).toBeLessThanOrEqual(1e-5);
    } finally {
      await m.dispose();
    }
  });
});
