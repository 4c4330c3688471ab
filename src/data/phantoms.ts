import { MedclassError } from '../errors.js';
import { Rng } from '../engine/index.js';
import type { DatasetItem, DatasetSource, DecodedImage, MetaValue, SplitName } from './types.js';

export interface PhantomOptions {
  /** Number of images (half with a lesion). */
  n: number;
  /** Height and width in pixels. */
  size: number;
  seed: number;
}

const DEFAULTS: PhantomOptions = { n: 600, size: 64, seed: 0 };

/** Parses `phantom:` or `phantom:n=600,size=64,seed=0` (keys optional, any order). */
export function parsePhantomSpec(spec: string): PhantomOptions {
  const body = spec.replace(/^phantom:?/, '');
  const o = { ...DEFAULTS };
  for (const part of body.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [k, v] = part.split('=');
    const num = Number(v);
    if (!(k === 'n' || k === 'size' || k === 'seed') || !Number.isInteger(num) || (k !== 'seed' && num < (k === 'n' ? 6 : 16)) || num > 1e7) {
      throw new MedclassError('MC_DATA_BAD_SOURCE', `phantom spec '${spec}': bad entry '${part}'`, { hint: 'use phantom:n=600,size=64,seed=0 (n ≥ 6, size ≥ 16)' });
    }
    o[k] = num;
  }
  return o;
}

interface Blob { cx: number; cy: number; rx: number; ry: number; angle: number; amp: number }

/**
 * Renders one phantom: a tissue-like texture (random gratings, smooth blotches, a vessel-like ridge, a shading
 * gradient and pixel noise) and, for lesion images, an elliptical blob of modest contrast. Normal images carry a
 * fainter, smaller "benign" spot half the time, so the task is learnable but not solvable by brightness alone.
 */
function drawBlob(rng: Rng, s: number, lesion: boolean): Blob | undefined {
  const edge = Math.max(6, s / 8);
  const mkBlob = (ampLo: number, ampHi: number, rLo: number, rHi: number): Blob => ({
    cx: rng.uniform(edge, s - edge), cy: rng.uniform(edge, s - edge),
    rx: rng.uniform(rLo, rHi) * s / 64, ry: rng.uniform(rLo, rHi) * s / 64, angle: rng.uniform(0, Math.PI), amp: rng.uniform(ampLo, ampHi),
  });
  return lesion ? mkBlob(0.15, 0.35, 3, 7) : rng.uniform() < 0.5 ? mkBlob(0.05, 0.12, 1.5, 3) : undefined;
}

function renderPhantom(rng: Rng, s: number, blob: Blob | undefined): DecodedImage {
  const f = new Float32Array(s * s);
  const gratings = Array.from({ length: 5 }, () => ({
    kx: rng.normal(0, 0.25), ky: rng.normal(0, 0.25), ph: rng.uniform(0, 2 * Math.PI), a: rng.uniform(0.01, 0.035),
  }));
  const blotches = Array.from({ length: 6 }, () => ({
    x: rng.uniform(0, s), y: rng.uniform(0, s), r: rng.uniform(s / 10, s / 4), a: rng.uniform(-0.1, 0.1),
  }));
  const vessel = { x0: rng.uniform(0, s), y0: rng.uniform(0, s), angle: rng.uniform(0, Math.PI), w: rng.uniform(0.8, 2), a: rng.uniform(0.05, 0.15), curve: rng.normal(0, 0.02) };
  const base = rng.uniform(0.35, 0.55);
  const gx = rng.normal(0, 0.15) / s;
  const gy = rng.normal(0, 0.15) / s;
  const cosV = Math.cos(vessel.angle);
  const sinV = Math.sin(vessel.angle);
  for (let y = 0; y < s; y++) {
    for (let x = 0; x < s; x++) {
      let v = base + gx * (x - s / 2) + gy * (y - s / 2);
      for (const g of gratings) v += g.a * Math.sin(g.kx * x + g.ky * y + g.ph);
      for (const b of blotches) v += b.a * Math.exp(-((x - b.x) ** 2 + (y - b.y) ** 2) / (2 * b.r * b.r));
      const along = (x - vessel.x0) * cosV + (y - vessel.y0) * sinV;
      const across = -(x - vessel.x0) * sinV + (y - vessel.y0) * cosV - vessel.curve * along * along;
      v += vessel.a * Math.exp(-(across * across) / (2 * vessel.w * vessel.w));
      if (blob) {
        const dx = x - blob.cx;
        const dy = y - blob.cy;
        const u = (dx * Math.cos(blob.angle) + dy * Math.sin(blob.angle)) / blob.rx;
        const w = (-dx * Math.sin(blob.angle) + dy * Math.cos(blob.angle)) / blob.ry;
        v += blob.amp * Math.exp(-0.5 * (u * u + w * w) ** 1.5); // flatter top than a Gaussian
      }
      f[y * s + x] = v + rng.normal(0, 0.035);
    }
  }
  const data = new Uint8Array(s * s);
  for (let i = 0; i < f.length; i++) data[i] = Math.max(0, Math.min(255, Math.round(f[i]! * 255)));
  return { width: s, height: s, channels: 1, data };
}

/**
 * A deterministic synthetic "lesion phantom" dataset (spec `phantom:n=600,size=64,seed=0`): grey images, classes
 * `normal` and `lesion` (half each), split 70/15/15 per class. Lesion items record the blob in `meta`
 * (`cx`, `cy` in pixels, `radius` = mean semi-axis). Every image is rendered on demand from its own forked stream,
 * so the pixels of item i never depend on which other items were loaded.
 */
export function phantomSource(options: Partial<PhantomOptions> | string = {}): DatasetSource {
  const o = typeof options === 'string' ? parsePhantomSpec(options) : { ...DEFAULTS, ...options };
  const root = new Rng(o.seed).fork('phantom');
  const splitOf = new Array<SplitName>(o.n);
  for (const cls of [0, 1]) {
    const idx = Array.from({ length: o.n }, (_, i) => i).filter((i) => i % 2 === cls);
    root.fork(`split-${cls}`).shuffle(idx);
    const nTrain = Math.round(idx.length * 0.7);
    const nVal = Math.round(idx.length * 0.15);
    idx.forEach((i, k) => { splitOf[i] = k < nTrain ? 'train' : k < nTrain + nVal ? 'val' : 'test'; });
  }
  const items: DatasetItem[] = Array.from({ length: o.n }, (_, i) => {
    const lesion = i % 2 === 1;
    // The blob comes from its own stream, so meta is known without rendering the texture.
    const blob = drawBlob(root.fork(`blob-${i}`), o.size, lesion);
    const meta: Record<string, MetaValue> = lesion
      ? { lesion: true, cx: round2(blob!.cx), cy: round2(blob!.cy), radius: round2((blob!.rx + blob!.ry) / 2) }
      : { lesion: false, cx: null, cy: null, radius: null };
    return {
      id: `phantom/${String(i).padStart(5, '0')}`, label: lesion ? 'lesion' : 'normal', labelIndex: lesion ? 1 : 0,
      split: splitOf[i]!, meta, load: async () => renderPhantom(root.fork(`item-${i}`), o.size, blob),
    };
  });
  return { kind: 'phantom', name: `phantom:n=${o.n},size=${o.size},seed=${o.seed}`, classes: ['normal', 'lesion'], items };
}

const round2 = (x: number) => Math.round(x * 100) / 100;
