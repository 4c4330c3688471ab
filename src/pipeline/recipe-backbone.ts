/**
 * The `--backbone` recipe's plan: how many augmented passes through the frozen prefix, how many head and tune epochs
 * fit the training time, from costs measured on this machine (`probeBackbone`). Pure functions.
 */

/** Measured costs of one tune depth (a `last:N` phase), in seconds per image unless named otherwise. */
export interface TuneCosts {
  /** The frozen prefix before the tuned layers, with augmentation, per image: one tune-phase cache pass. */
  prefixPerImage: number;
  /** Training step per train image (batch 32), and the suffix forward per val image. */
  tuneStepPerImage: number;
  tuneValPerImage: number;
  /** Bytes of one image's cached tune-phase input (float32): memory per image and pass. */
  tuneCacheBytesPerImage: number;
}

/** Measured costs of a cached-trunk backbone run on this machine, in seconds (per image unless named otherwise). */
export interface BackboneCosts {
  /** The whole frozen trunk (to the embedding) with augmentation, per image: one head-phase cache pass; bounds inference too. */
  trunkPerImage: number;
  /** Head phase: training step per train image (batch 32), and the head's forward per val image. */
  headStepPerImage: number;
  headValPerImage: number;
  /** Opening a phase (prefix session, training graph compiled, predictor), once per phase. */
  phaseOpenSeconds: number;
  /** Per tune depth of `TUNE_DEPTHS` (those measured). */
  tune: Record<string, TuneCosts>;
}

/** A backbone plan: augmented prefix passes, a head phase then a tune phase (`tuneTrainable`, 0 epochs = head only). */
export interface BackbonePlan {
  passes: number;
  headEpochs: number;
  tuneEpochs: number;
  tuneTrainable: string;
  headLr: number;
  tuneLr: number;
}

/** A chosen plan with its estimated training seconds (total, and the head phase alone: the deadline's floor). */
export interface PlannedBackbone extends BackbonePlan { estimate: number; headSeconds: number }

/**
 * Tune depths, shallow to deep: MobileNetV2's Conv_1 + blocks 14–16 (7×7), + blocks 11–13 (14×14), and blocks 4–16 + Conv_1
 * (examples/chest-xray-mobilenetv2.yaml). A deeper tune is planned when it gets MIN_DEEPER_EPOCHS; the shallowest from
 * MIN_TUNE_EPOCHS (large sets on a small budget, where one `last:40` epoch would take most of it).
 */
export const TUNE_DEPTHS = ['last:10', 'last:19', 'last:40'] as const;

/** The deepest tune depth, the example's. */
export const TUNE_TRAINABLE = 'last:40';

/** Fewest epochs for which a deeper tune is preferred to a shallower one with more. */
export const MIN_DEEPER_EPOCHS = 4;

/** Longest tune phase the ladder plans (beyond it the budget is left unused rather than spent untested). */
export const MAX_TUNE_EPOCHS = 16;

/**
 * Shortest tune phase the ladder plans: with 2 epochs the deadline's re-plan can still grow it after the first (a
 * schedule cannot be stretched once it has ended), when the probe's steps overstated the epoch time.
 */
export const MIN_TUNE_EPOCHS = 2;

/** Most head epochs a head-only plan may grow to under the deadline (the ladder's head phase from 4 tune epochs on). */
export const MAX_HEAD_EPOCHS = 10;

/** The epochs a backbone run's last phase may grow to under the deadline: the tune phase's or a head-only plan's cap. */
export function backboneMaxEpochs(plan: BackbonePlan): number {
  return plan.tuneEpochs > 0 ? MAX_TUNE_EPOCHS : MAX_HEAD_EPOCHS;
}

/** Most augmented passes (the example used 4 for 10 tune epochs). */
const MAX_PASSES = 8;

/** Memory for the cached tune-phase inputs (all passes), bytes. */
export const CACHE_BYTES = 2.5e9;

/** Per-epoch cost outside the steps: checkpoints (best + last, ~14 MB each, fsynced) and history.csv. */
const EPOCH_OVERHEAD_SECONDS = 0.5;

/**
 * Training seconds of `p` for `n` train/val images at costs `c`: per phase, opening it, the cache passes (val once,
 * train `max(1, passes)` times), then per epoch the steps over the train images (last partial batch dropped) and the
 * val forward.
 */
export function backbonePlanSeconds(p: BackbonePlan, n: { train: number; val: number }, c: BackboneCosts): { head: number; tune: number; total: number } {
  const passes = Math.max(1, p.passes);
  const stepped = Math.floor(n.train / 32) * 32;
  const head = c.phaseOpenSeconds + (n.val + passes * n.train) * c.trunkPerImage
    + p.headEpochs * (stepped * c.headStepPerImage + n.val * c.headValPerImage + EPOCH_OVERHEAD_SECONDS);
  const t = p.tuneEpochs === 0 ? undefined : tuneCosts(c, p.tuneTrainable);
  const tune = !t ? 0 : c.phaseOpenSeconds + (n.val + passes * n.train) * t.prefixPerImage
    + p.tuneEpochs * (stepped * t.tuneStepPerImage + n.val * t.tuneValPerImage + EPOCH_OVERHEAD_SECONDS);
  return { head, tune, total: head + tune };
}

/** The measured costs of tune depth `trainable` (an error when the probe did not measure it). */
function tuneCosts(c: BackboneCosts, trainable: string): TuneCosts {
  const t = c.tune[trainable];
  if (!t) throw new Error(`no measured costs for tune depth ${trainable}`);
  return t;
}

/** Most augmented passes whose cached tune inputs (per image `bytesPerImage`) fit `bytes` (0 when not even one does). */
export function maxPassesForMemory(nTrain: number, bytesPerImage: number, bytes = CACHE_BYTES): number {
  return Math.min(MAX_PASSES, Math.floor(bytes / Math.max(1, nTrain * bytesPerImage)));
}

/**
 * The plan ladder in order of preference (the last fitting rung is chosen): head-only rungs (3 epochs without passes,
 * 6 with one, then 10 with 2…MAX_PASSES: a budget too small for any tune spends itself on augmented copies), then per
 * tune depth, shallow to deep, tune epochs from MIN_TUNE_EPOCHS (the shallowest) or MIN_DEEPER_EPOCHS to
 * MAX_TUNE_EPOCHS, the head phase at 10 epochs from 4 tune epochs on and one augmented pass per 2.5 tune epochs (as
 * the example's 4 for 10), capped by the memory of that depth's cache (`maxPasses`). Within a depth each rung has at
 * least the passes and epochs of the one before.
 */
export function backboneLadder(maxPasses: (trainable: string) => number, depths: readonly string[] = TUNE_DEPTHS): BackbonePlan[] {
  const rung = (passes: number, headEpochs: number, tuneEpochs: number, tuneTrainable: string): BackbonePlan => ({
    passes, headEpochs, tuneEpochs, tuneTrainable, headLr: 0.003, tuneLr: 0.0005,
  });
  const out = [rung(0, 3, 0, TUNE_TRAINABLE), rung(1, 6, 0, TUNE_TRAINABLE)];
  for (let p = 2; p <= MAX_PASSES; p++) out.push(rung(p, MAX_HEAD_EPOCHS, 0, TUNE_TRAINABLE));
  depths.forEach((d, i) => {
    for (let e = i === 0 ? MIN_TUNE_EPOCHS : MIN_DEEPER_EPOCHS; e <= MAX_TUNE_EPOCHS; e++) {
      out.push(rung(Math.min(Math.ceil(e / 2.5), maxPasses(d)), e >= 4 ? MAX_HEAD_EPOCHS : 5 + e, e, d));
    }
  });
  return out;
}

/**
 * The most preferred rung of the ladder whose estimated training time fits `seconds` (the cheapest rung when none
 * does: a result the deadline may cut short beats none), over the tune depths the probe measured.
 */
export function chooseBackbonePlan(n: { train: number; val: number }, seconds: number, c: BackboneCosts, cacheBytes = CACHE_BYTES): PlannedBackbone {
  const depths = TUNE_DEPTHS.filter((d) => c.tune[d]);
  const ladder = backboneLadder((d) => maxPassesForMemory(n.train, tuneCosts(c, d).tuneCacheBytesPerImage, cacheBytes), depths);
  let pick = ladder[0]!;
  for (const r of ladder) if (backbonePlanSeconds(r, n, c).total <= seconds) pick = r;
  const s = backbonePlanSeconds(pick, n, c);
  return { ...pick, estimate: s.total, headSeconds: s.head };
}

/** Evaluation after training, seconds: the full network over val + test (twice with flip TTA), export and metrics. */
export function backboneEvaluateSeconds(nEval: number, c: BackboneCosts, tta: boolean): number {
  return nEval * c.trunkPerImage * (tta ? 2 : 1) + 15;
}
