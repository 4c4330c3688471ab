/**
 * The AdamW update as a WebAssembly SIMD kernel (f64x2), bit-identical to the scalar loop in adamw.ts: the same
 * float64 operations in the same order, with float32 rounding exactly where the loop stores to a Float32Array (and at
 * its Math.fround). Four elements per loop turn in two f64x2 lanes: 11.2 M parameters (ResNet-18) 52 → 34 ms per
 * update, of which ~13 ms are the chunk copies (Zen 5; bench/README.md). The module is assembled here from its
 * opcodes, so no toolchain or binary blob is involved.
 *
 * Data is copied through a small scratch memory in chunks that stay in cache; the optimizer's buffers stay ordinary
 * Float32Arrays (checkpoints and the scalar path are unchanged).
 */

const CHUNK = 8192; // elements per chunk: 4 arrays × 32 KiB, well inside L2

/** Unsigned LEB128. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const name = (s: string) => [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];

// opcodes
const LOCAL_GET = 0x20, LOCAL_SET = 0x21, LOCAL_TEE = 0x22;
const I32_ADD = 0x6a, I32_SHL = 0x74, I32_GE_U = 0x4f, I32_CONST = 0x41;
const simd = (op: number) => [0xfd, ...uleb(op)];
const LOAD64_ZERO = simd(0x5d), STORE64_LANE = simd(0x5b);
const F64X2_SPLAT = simd(0x14), PROMOTE = simd(0x5f), DEMOTE = simd(0x5e);
const F64X2_ADD = simd(0xf0), F64X2_SUB = simd(0xf1), F64X2_MUL = simd(0xf2), F64X2_DIV = simd(0xf3), F64X2_SQRT = simd(0xef);
const MEMARG = (offset: number) => [3, ...uleb(offset)]; // align 2^3

// parameters: 0 p, 1 g, 2 m, 3 v (byte offsets), 4 n (elements, a multiple of 4); 5 b1 6 b2 7 c1 8 c2 9 decay 10 stepSize 11 bc2Sqrt 12 eps
const [P, G, M, V, N] = [0, 1, 2, 3, 4];
const FIRST_F64 = 5;
// locals: 13 i, 14 end (i32); 15–22 the eight scalars splatted; 23 g, 24 m, 25 v (v128)
const [I, END] = [13, 14];
const [B1, B2, C1, C2, DECAY, STEP, BC2, EPS] = [15, 16, 17, 18, 19, 20, 21, 22];
const [GV, MV, VV] = [23, 24, 25];

const get = (l: number) => [LOCAL_GET, l];
const addr = (base: number) => [...get(base), ...get(I), I32_ADD];
/** Two float32 at base+i+offset as f64x2. */
const load2 = (base: number, offset: number) => [...addr(base), ...LOAD64_ZERO, ...MEMARG(offset), ...PROMOTE];
/** Stores the f64x2 on the stack (after its address) as two float32. */
const store2 = (offset: number) => [...DEMOTE, ...STORE64_LANE, ...MEMARG(offset), 0];

/** Two elements at byte offset `o` from i (the loop body is two of these): the body of torch.optim.AdamW's update, as adamw.ts computes it. */
function pair(o: number): number[] {
  return [
    // m = m·b1 + c1·g (kept as float64 for the step, stored as float32)
    ...load2(G, o), LOCAL_SET, GV,
    ...addr(M), ...load2(M, o), ...get(B1), ...F64X2_MUL, ...get(C1), ...get(GV), ...F64X2_MUL, ...F64X2_ADD, LOCAL_TEE, MV, ...store2(o),
    // v = v·b2 + (c2·g)·g
    ...addr(V), ...load2(V, o), ...get(B2), ...F64X2_MUL, ...get(C2), ...get(GV), ...F64X2_MUL, ...get(GV), ...F64X2_MUL, ...F64X2_ADD, LOCAL_TEE, VV, ...store2(o),
    // p = fround(p·decay) − (stepSize·m) / (√v / bc2Sqrt + eps)
    ...addr(P), ...load2(P, o), ...get(DECAY), ...F64X2_MUL, ...DEMOTE, ...PROMOTE,
    ...get(STEP), ...get(MV), ...F64X2_MUL, ...get(VV), ...F64X2_SQRT, ...get(BC2), ...F64X2_DIV, ...get(EPS), ...F64X2_ADD, ...F64X2_DIV,
    ...F64X2_SUB, ...store2(o),
  ];
}

function moduleBytes(pages: number): Uint8Array {
  const I32 = 0x7f, F64 = 0x7c, V128 = 0x7b;
  const type = [1, 0x60, 13, I32, I32, I32, I32, I32, ...Array<number>(8).fill(F64), 0];
  const body = [
    3, 2, I32, 8, V128, 3, V128, // local groups: i, end; 8 splats; g, m, v
    ...get(N), I32_CONST, 2, I32_SHL, LOCAL_SET, END,
    ...[B1, B2, C1, C2, DECAY, STEP, BC2, EPS].flatMap((l, k) => [...get(FIRST_F64 + k), ...F64X2_SPLAT, LOCAL_SET, l]),
    0x02, 0x40, 0x03, 0x40, // block, loop
    ...get(I), ...get(END), I32_GE_U, 0x0d, 1, // br_if out when i ≥ end
    ...pair(0), ...pair(8),
    ...get(I), I32_CONST, 16, I32_ADD, LOCAL_SET, I,
    0x0c, 0, 0x0b, 0x0b, // br loop; end loop; end block
    0x0b,
  ];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, type),
    ...section(3, [1, 0]),
    ...section(5, [1, 0, ...uleb(pages)]),
    ...section(7, [2, ...name('mem'), 2, 0, ...name('adamw'), 0, 0]),
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
}

type Kernel = (p: number, g: number, m: number, v: number, n: number, b1: number, b2: number, c1: number, c2: number, decay: number, stepSize: number, bc2Sqrt: number, eps: number) => void;

/** The coefficients of one AdamW step (as adamw.ts derives them). */
export interface AdamWCoefficients { b1: number; b2: number; c1: number; c2: number; decay: number; stepSize: number; bc2Sqrt: number; eps: number }

/** The slice of the WebAssembly API used here (tsconfig's lib has no WebAssembly types without DOM). */
interface Wasm {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly?: Wasm }).WebAssembly;

/** The kernel and a view of its scratch memory (never grown, so the view stays valid). */
let instance: { kernel: Kernel; scratch: Float32Array } | null | undefined;

function load(): { kernel: Kernel; scratch: Float32Array } | null {
  if (instance !== undefined) return instance;
  if (!wasm) return (instance = null);
  try {
    const pages = Math.ceil((4 * 4 * CHUNK) / 65536);
    const inst = new wasm.Instance(new wasm.Module(moduleBytes(pages)));
    instance = { kernel: inst.exports.adamw as Kernel, scratch: new Float32Array((inst.exports.mem as { buffer: ArrayBuffer }).buffer) };
  } catch {
    instance = null; // no WebAssembly SIMD here: the caller keeps the scalar loop
  }
  return instance;
}

/** Whether the SIMD kernel is available in this runtime. */
export function simdAvailable(): boolean {
  return load() !== null;
}

/**
 * Updates p, m, v in place for elements [0, n − n % 4) and returns how many it did (0 when WebAssembly SIMD is not
 * available); the caller runs the scalar loop over the rest.
 */
export function adamwSimd(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, k: AdamWCoefficients): number {
  const w = load();
  if (!w) return 0;
  const whole = p.length & ~3;
  const f = w.scratch;
  const [po, go, mo, vo] = [0, CHUNK, 2 * CHUNK, 3 * CHUNK];
  for (let s = 0; s < whole; s += CHUNK) {
    const e = Math.min(whole, s + CHUNK);
    f.set(p.subarray(s, e), po);
    f.set(g.subarray(s, e), go);
    f.set(m.subarray(s, e), mo);
    f.set(v.subarray(s, e), vo);
    w.kernel(4 * po, 4 * go, 4 * mo, 4 * vo, e - s, k.b1, k.b2, k.c1, k.c2, k.decay, k.stepSize, k.bc2Sqrt, k.eps);
    p.set(f.subarray(po, po + e - s), s);
    m.set(f.subarray(mo, mo + e - s), s);
    v.set(f.subarray(vo, vo + e - s), s);
  }
  return whole;
}
