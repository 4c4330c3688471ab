import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { MedclassError } from '../errors.js';
import type { OptimizerState } from './optim/optimizer.js';
import type { ParameterStore } from './params.js';

/** What a checkpoint holds: enough to resume a run bit-exactly. */
export interface CheckpointData {
  /** Optimizer steps taken so far (the schedule's position). */
  step: number;
  epoch: number;
  /** The key of the run's root `Rng` (`rng.key`); consumers re-fork from it by label. */
  rngKey: readonly number[];
  params: ParameterStore;
  optimizer?: OptimizerState;
  /** Any JSON-serialisable extras (plateau state, best metric, history position). */
  extra?: unknown;
}

/** A checkpoint as read back: parameter values by name, frozen names, optimizer state. */
export interface LoadedCheckpoint {
  step: number;
  epoch: number;
  rngKey: number[];
  params: Map<string, { dims: number[]; data: Float32Array }>;
  frozen: string[];
  optimizer?: OptimizerState;
  extra?: unknown;
}

const MAGIC = 'MCKPT001';

interface Header {
  format: 'medclass-checkpoint';
  version: 1;
  step: number;
  epoch: number;
  rngKey: number[];
  frozen: string[];
  optimizer?: Omit<OptimizerState, 'slots'>;
  extra?: unknown;
  /** Blobs: `param/<name>` or `optim/<name>/<slot>`, byte offsets after the header. */
  tensors: { key: string; dims: number[]; offset: number; length: number }[];
}

/** Encodes a checkpoint: 8-byte magic, u32 LE header length, JSON header (padded to 4 bytes), little-endian float32 blobs. */
export function encodeCheckpoint(c: CheckpointData): Uint8Array {
  const blobs: { key: string; dims: number[]; data: Float32Array }[] = [];
  for (const name of c.params.names()) {
    const p = c.params.get(name);
    blobs.push({ key: `param/${name}`, dims: [...p.dims], data: p.data });
  }
  for (const [name, slots] of Object.entries(c.optimizer?.slots ?? {})) {
    for (const [slot, data] of Object.entries(slots)) blobs.push({ key: `optim/${name}/${slot}`, dims: [data.length], data });
  }
  let offset = 0;
  const tensors = blobs.map((b) => {
    const t = { key: b.key, dims: b.dims, offset, length: b.data.length };
    offset += b.data.length * 4;
    return t;
  });
  const { slots: _slots, ...optimizer } = c.optimizer ?? { slots: {} };
  const header: Header = {
    format: 'medclass-checkpoint', version: 1, step: c.step, epoch: c.epoch, rngKey: [...c.rngKey],
    frozen: c.params.frozenNames(), ...(c.optimizer ? { optimizer: optimizer as Header['optimizer'] } : {}),
    ...(c.extra !== undefined ? { extra: c.extra } : {}), tensors,
  };
  let json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (4 - ((12 + json.length) % 4)) % 4;
  if (pad) json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(pad));
  const out = new Uint8Array(12 + json.length + offset);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  const body = new Float32Array(out.buffer, 12 + json.length, offset / 4);
  let at = 0;
  for (const b of blobs) { body.set(b.data, at); at += b.data.length; }
  return out;
}

/** Decodes bytes written by `encodeCheckpoint`; `source` names the file in errors. */
export function decodeCheckpoint(bytes: Uint8Array, source = 'checkpoint'): LoadedCheckpoint {
  const bad = (why: string) => new MedclassError('MC_ENGINE_BAD_CHECKPOINT', `${source}: ${why}`, { file: source });
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) throw bad('not a medclass checkpoint (bad magic)');
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + len))) as Header;
  } catch (cause) {
    throw bad(`unreadable header (${String(cause)})`);
  }
  if (header.format !== 'medclass-checkpoint' || header.version !== 1) throw bad(`unsupported format ${header.format} v${header.version}`);
  const base = 12 + len;
  const params = new Map<string, { dims: number[]; data: Float32Array }>();
  const slots: OptimizerState['slots'] = {};
  for (const t of header.tensors) {
    const end = base + t.offset + t.length * 4;
    if (end > bytes.length) throw bad(`truncated: ${t.key} needs bytes up to ${end}, file has ${bytes.length}`);
    const data = new Float32Array(t.length); // a copy: aligned, detached from the file buffer
    new Uint8Array(data.buffer).set(bytes.subarray(base + t.offset, end));
    if (t.key.startsWith('param/')) params.set(t.key.slice(6), { dims: t.dims, data });
    else {
      const rest = t.key.slice(6);
      const cut = rest.lastIndexOf('/');
      (slots[rest.slice(0, cut)] ??= {})[rest.slice(cut + 1)] = data;
    }
  }
  return {
    step: header.step, epoch: header.epoch, rngKey: header.rngKey, params, frozen: header.frozen,
    ...(header.optimizer ? { optimizer: { ...header.optimizer, slots } } : {}),
    ...(header.extra !== undefined ? { extra: header.extra } : {}),
  };
}

/**
 * Writes a checkpoint atomically: to a temporary file beside `path`, fsync, then rename over `path`, so a run killed
 * mid-write leaves the previous checkpoint intact.
 */
export async function saveCheckpoint(path: string, c: CheckpointData): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(encodeCheckpoint(c));
    await fh.sync();
  } catch (e) {
    await fh.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  await rename(tmp, path);
}

/** Reads a checkpoint file written by `saveCheckpoint`. */
export async function loadCheckpoint(path: string): Promise<LoadedCheckpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw new MedclassError('MC_ENGINE_BAD_CHECKPOINT', `${path}: cannot read checkpoint (${(cause as Error).message})`, { file: path, cause });
  }
  return decodeCheckpoint(bytes, path);
}

/**
 * Puts a loaded checkpoint's parameter values (and frozen flags) into `store`; every stored parameter must exist in
 * the checkpoint with the same size.
 */
export function restoreParams(ckpt: LoadedCheckpoint, store: ParameterStore): void {
  const missing = store.names().filter((n) => !ckpt.params.has(n));
  if (missing.length > 0) {
    throw new MedclassError('MC_ENGINE_BAD_CHECKPOINT', `checkpoint lacks ${missing.length} parameter(s) of the model: ${missing.slice(0, 5).join(', ')}`);
  }
  for (const n of store.names()) {
    const want = store.get(n);
    const got = ckpt.params.get(n)!;
    if (got.data.length !== want.data.length) {
      throw new MedclassError('MC_ENGINE_BAD_CHECKPOINT', `checkpoint parameter ${n}: expected [${want.dims.join(',')}], found [${got.dims.join(',')}]`);
    }
    want.data.set(got.data);
  }
  const frozen = new Set(ckpt.frozen);
  const exact = (n: string) => new RegExp(`^${n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  const toFreeze = store.names().filter((n) => frozen.has(n)).map(exact);
  const toThaw = store.names().filter((n) => !frozen.has(n)).map(exact);
  if (toFreeze.length) store.freeze(toFreeze);
  if (toThaw.length) store.unfreeze(toThaw);
}
