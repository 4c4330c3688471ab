import type { Rng } from '../engine/index.js';

/** Augmentation settings for training batches (all off by default; see `AugmentOptions` in options.ts). */
export interface AugmentSpec {
  hflip: boolean;
  vflip: boolean;
  /** max rotation in degrees (uniform in ±rotate) */
  rotate: number;
  /** max translation as a fraction of width/height */
  translate: number;
  /** zoom: scale uniform in [1 − zoom, 1 + zoom], or in [min, max] when a pair (scale > 1 zooms in) */
  zoom: number | readonly [number, number];
  /** max additive brightness shift (in input units, e.g. 0.1 on [0,1] images) */
  brightness: number;
  /** max contrast deviation: factor uniform in [1 − contrast, 1 + contrast] around the image mean */
  contrast: number;
  /** random erasing probability (one rectangle per image); optional so older specs stay valid */
  erase?: number;
  /** aspect-ratio range [min, max] (width/height stretch, log-uniform); optional so older specs stay valid */
  aspect?: readonly [number, number];
  /** max sharpness deviation: factor uniform in [1 − s, 1 + s] (0 = blurred, 1 = unchanged, > 1 sharpened) */
  sharpness?: number;
}

/** Parameters drawn for one image; applying them is deterministic. */
export interface AugmentDraw {
  hflip: boolean;
  vflip: boolean;
  angle: number;
  tx: number;
  ty: number;
  scale: number;
  brightness: number;
  contrast: number;
  /** rectangle set to 0 after everything else, as fractions of width/height: [x0, y0, w, h] */
  erase?: readonly [number, number, number, number];
  /** width/height stretch on top of `scale`: x scales by √aspect, y by 1/√aspect */
  aspect?: number;
  /** sharpness factor: out = blur + factor · (image − blur), blur a Gaussian of σ = 1 px */
  sharpness?: number;
}

/**
 * Random erasing (Zhong et al., AAAI 2020, torchvision's defaults): area fraction in [0.02, 0.33], log-uniform aspect
 * ratio in [0.3, 3.3], up to 10 tries to fit inside the image. Hides one region so no single patch (a burnt-in
 * marker, a corner) can carry the label.
 */
function drawErase(rng: Rng): [number, number, number, number] | undefined {
  for (let attempt = 0; attempt < 10; attempt++) {
    const area = rng.uniform(0.02, 0.33);
    const aspect = Math.exp(rng.uniform(Math.log(0.3), Math.log(3.3)));
    const w = Math.sqrt(area * aspect);
    const h = Math.sqrt(area / aspect);
    if (w < 1 && h < 1) return [rng.uniform(0, 1 - w), rng.uniform(0, 1 - h), w, h];
  }
  return undefined;
}

/** Draws one image's augmentation parameters from `rng` (MONAI's randomize-then-apply). */
export function drawAugment(spec: AugmentSpec, rng: Rng): AugmentDraw {
  const zoom = zoomRange(spec.zoom);
  return {
    hflip: spec.hflip && rng.uniform() < 0.5,
    vflip: spec.vflip && rng.uniform() < 0.5,
    angle: spec.rotate > 0 ? (rng.uniform(-spec.rotate, spec.rotate) * Math.PI) / 180 : 0,
    tx: spec.translate > 0 ? rng.uniform(-spec.translate, spec.translate) : 0,
    ty: spec.translate > 0 ? rng.uniform(-spec.translate, spec.translate) : 0,
    scale: zoom ? rng.uniform(zoom[0], zoom[1]) : 1,
    brightness: spec.brightness > 0 ? rng.uniform(-spec.brightness, spec.brightness) : 0,
    contrast: spec.contrast > 0 ? rng.uniform(1 - spec.contrast, 1 + spec.contrast) : 1,
    // drawn last and only when enabled, so specs without erasing keep their random streams
    ...(spec.erase && rng.uniform() < spec.erase ? { erase: drawErase(rng) } : {}),
    ...(aspectRange(spec.aspect) ? { aspect: Math.exp(rng.uniform(Math.log(spec.aspect![0]), Math.log(spec.aspect![1]))) } : {}),
    ...(spec.sharpness ? { sharpness: Math.max(0, rng.uniform(1 - spec.sharpness, 1 + spec.sharpness)) } : {}),
  };
}

/**
 * Applies one draw to an image `[C,H,W]` (a view into a batch), writing into `out` (same size).
 * Geometry is one affine map about the centre with bilinear sampling; outside pixels take the image's edge value.
 */
export function applyAugment(img: Float32Array, out: Float32Array, c: number, h: number, w: number, d: AugmentDraw): void {
  const stretch = Math.sqrt(d.aspect ?? 1);
  const geometric = d.hflip || d.vflip || d.angle !== 0 || d.tx !== 0 || d.ty !== 0 || d.scale !== 1 || stretch !== 1;
  if (!geometric) out.set(img);
  else {
    // source = diag(1/(scale·√a), √a/scale) · R(−angle) · (output − centre − shift)
    const cos = Math.cos(d.angle) / d.scale;
    const sin = Math.sin(d.angle) / d.scale;
    const cx = (w - 1) / 2;
    const cy = (h - 1) / 2;
    const shiftX = d.tx * w;
    const shiftY = d.ty * h;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        // inverse map: output pixel → source coordinate
        let ox = x - cx - shiftX;
        let oy = y - cy - shiftY;
        if (d.hflip) ox = -ox;
        if (d.vflip) oy = -oy;
        const sx = Math.min(w - 1, Math.max(0, (cos * ox + sin * oy) / stretch + cx));
        const sy = Math.min(h - 1, Math.max(0, (-sin * ox + cos * oy) * stretch + cy));
        const x0 = Math.floor(sx);
        const y0 = Math.floor(sy);
        const x1 = Math.min(x0 + 1, w - 1);
        const y1 = Math.min(y0 + 1, h - 1);
        const fx = sx - x0;
        const fy = sy - y0;
        for (let ch = 0; ch < c; ch++) {
          const base = ch * h * w;
          const a = img[base + y0 * w + x0]!;
          const b = img[base + y0 * w + x1]!;
          const cc = img[base + y1 * w + x0]!;
          const dd = img[base + y1 * w + x1]!;
          out[base + y * w + x] = (a * (1 - fx) + b * fx) * (1 - fy) + (cc * (1 - fx) + dd * fx) * fy;
        }
      }
    }
  }
  if (d.sharpness !== undefined && d.sharpness !== 1) adjustSharpness(out, c, h, w, d.sharpness);
  if (d.contrast !== 1 || d.brightness !== 0) {
    const plane = h * w;
    for (let ch = 0; ch < c; ch++) {
      const v = out.subarray(ch * plane, (ch + 1) * plane);
      let mean = 0;
      for (let i = 0; i < plane; i++) mean += v[i]!;
      mean /= plane;
      for (let i = 0; i < plane; i++) v[i] = (v[i]! - mean) * d.contrast + mean + d.brightness;
    }
  }
  if (d.erase) {
    const [fx, fy, fw, fh] = d.erase;
    const x0 = Math.round(fx * w);
    const y0 = Math.round(fy * h);
    const x1 = Math.min(w, x0 + Math.max(1, Math.round(fw * w)));
    const y1 = Math.min(h, y0 + Math.max(1, Math.round(fh * h)));
    for (let ch = 0; ch < c; ch++) for (let y = y0; y < y1; y++) out.fill(0, ch * h * w + y * w + x0, ch * h * w + y * w + x1);
  }
}

/** Gaussian σ = 1 px, 5 taps (weights exp(−x²/2), normalised); separable. */
const BLUR_TAPS = (() => {
  const t = [-2, -1, 0, 1, 2].map((x) => Math.exp(-(x * x) / 2));
  const sum = t.reduce((a, b) => a + b, 0);
  return t.map((v) => v / sum);
})();

/**
 * Blends each channel with its Gaussian blur in place: factor 0 gives the blur, 1 the image, > 1 an unsharp mask
 * (torchvision's adjust_sharpness, with a Gaussian instead of its 3×3 kernel). Edges clamp.
 */
export function adjustSharpness(img: Float32Array, c: number, h: number, w: number, factor: number): void {
  const plane = h * w;
  const rowPass = new Float32Array(plane);
  for (let ch = 0; ch < c; ch++) {
    const v = img.subarray(ch * plane, (ch + 1) * plane);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let acc = 0;
        for (let k = -2; k <= 2; k++) acc += BLUR_TAPS[k + 2]! * v[y * w + Math.min(w - 1, Math.max(0, x + k))]!;
        rowPass[y * w + x] = acc;
      }
    }
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let blur = 0;
        for (let k = -2; k <= 2; k++) blur += BLUR_TAPS[k + 2]! * rowPass[Math.min(h - 1, Math.max(0, y + k)) * w + x]!;
        v[y * w + x] = blur + factor * (v[y * w + x]! - blur);
      }
    }
  }
}

/** The scale range a zoom setting draws from, or undefined when it never zooms. */
export function zoomRange(zoom: AugmentSpec['zoom']): [number, number] | undefined {
  const [lo, hi] = typeof zoom === 'number' ? [1 - zoom, 1 + zoom] : zoom;
  return lo === 1 && hi === 1 ? undefined : [lo, hi];
}

/** The aspect range a setting draws from, or undefined when it never stretches. */
function aspectRange(aspect: AugmentSpec['aspect']): readonly [number, number] | undefined {
  return aspect && !(aspect[0] === 1 && aspect[1] === 1) ? aspect : undefined;
}

/** True when the spec changes anything. */
export function isAugmenting(spec: AugmentSpec): boolean {
  return spec.hflip || spec.vflip || spec.rotate > 0 || spec.translate > 0 || zoomRange(spec.zoom) !== undefined || spec.brightness > 0 || spec.contrast > 0 || (spec.erase ?? 0) > 0 || aspectRange(spec.aspect) !== undefined
    || (spec.sharpness ?? 0) > 0;
}

/** Augments a batch `[N,C,H,W]` in place, one draw per image from `rng`. */
export function augmentBatch(x: Float32Array, dims: readonly number[], spec: AugmentSpec, rng: Rng): void {
  if (!isAugmenting(spec)) return;
  const [n, c, h, w] = dims as [number, number, number, number];
  const size = c * h * w;
  const tmp = new Float32Array(size);
  for (let i = 0; i < n; i++) {
    const view = x.subarray(i * size, (i + 1) * size);
    applyAugment(view, tmp, c, h, w, drawAugment(spec, rng));
    view.set(tmp);
  }
}

/**
 * MixUp (Zhang et al. 2018): x ← λx + (1−λ)x[perm], soft targets likewise, λ ~ Beta(α, α) per batch.
 * Returns soft targets `[N,K]` to use with a soft-label cross-entropy.
 */
export function mixupBatch(x: Float32Array, dims: readonly number[], labels: Int32Array, numClasses: number, alpha: number, rng: Rng): Float32Array {
  const n = dims[0]!;
  const size = x.length / n;
  const lam = sampleBeta(alpha, rng);
  const perm = rng.permutation(n);
  const src = x.slice();
  const targets = new Float32Array(n * numClasses);
  for (let i = 0; i < n; i++) {
    const j = perm[i]!;
    for (let k = 0; k < size; k++) x[i * size + k] = lam * src[i * size + k]! + (1 - lam) * src[j * size + k]!;
    targets[i * numClasses + labels[i]!]! += lam;
    targets[i * numClasses + labels[j]!]! += 1 - lam;
  }
  return targets;
}

/** One draw of Beta(α, α), via two Gamma draws (Marsaglia–Tsang). */
export function sampleBeta(alpha: number, rng: Rng): number {
  const a = sampleGamma(alpha, rng);
  const b = sampleGamma(alpha, rng);
  return a / (a + b);
}

function sampleGamma(k: number, rng: Rng): number {
  if (k < 1) return sampleGamma(k + 1, rng) * Math.pow(rng.uniform(), 1 / k);
  const d = k - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const z = rng.normal();
    const v = (1 + c * z) ** 3;
    if (v <= 0) continue;
    const u = rng.uniform();
    if (Math.log(u) < 0.5 * z * z + d - d * v + Math.log(v)) return d * v;
  }
}
