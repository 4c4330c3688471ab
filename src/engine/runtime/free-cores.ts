import { cpus } from 'node:os';

const WINDOW_MS = 150;
const CACHE_MS = 10_000;
let cached: { at: number; free: number } | undefined;

const idleMs = () => cpus().reduce((s, c) => s + c.times.idle, 0);

/**
 * Cores nobody is using right now: the machine's idle CPU time over a 150 ms window, in cores (0 … cpus().length).
 * A figure up to `maxAgeMs` old (default 10 s) is reused. Not a load average, which lags by a minute and counts this process's
 * own past work.
 */
export async function freeCores(maxAgeMs = CACHE_MS): Promise<number> {
  const now = Date.now();
  if (cached && now - cached.at < maxAgeMs) return cached.free;
  const [i0, t0] = [idleMs(), performance.now()];
  await new Promise((r) => setTimeout(r, WINDOW_MS));
  const free = Math.max(0, Math.min(cpus().length, (idleMs() - i0) / (performance.now() - t0)));
  cached = { at: Date.now(), free };
  return free;
}

/**
 * Whether a session's intra-op threads should busy-wait between ops: only when the cores they run on are free now.
 * ResNet-18-28 training step (batch 128, 2 threads) on an idle 2-core machine: median 2232 → 2151 ms, 4 alternated
 * pairs, 4–6 % each; on a loaded machine spinning threads take the cores the working ones need (MobileNetV2 step at
 * load ~11: 7.3 → 13.2 s).
 */
export async function spinWhenIdle(threads: number): Promise<boolean> {
  const want = threads > 0 ? threads : cpus().length;
  return (await freeCores()) >= want - 0.25;
}
