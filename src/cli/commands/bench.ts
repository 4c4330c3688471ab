import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import type { BenchNetwork, BenchOptions, BenchResult, Network } from '../../engine/index.js';
import { ParameterStore, Rng, benchInfer, benchTrain, bnStatOutputs, dropoutFeeds, loadModel } from '../../engine/index.js';
import { MedclassError } from '../../errors.js';
import { BUILTIN_MODELS, createBackbone, createModel } from '../../models/index.js';
import { out, table } from '../output.js';

/** The shared TF-slim MobileNetV2 (BN folded into the convs, ReLU6 as Clip), 224 px, every parameter trainable. */
const MOBILENET_V2 = fileURLToPath(new URL('../../../../shared/models/tf-mobilenet-coral/mobilenet_v2_1.0_224_quant.f32.onnx', import.meta.url));
const ARCHS = [...BUILTIN_MODELS.map((m) => `${m}`), 'mobilenet_v2-224'];
const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

interface BenchFlags {
  arch?: string;
  model?: string;
  batch: number;
  steps: number;
  warmup: number;
  threads: number;
  channels?: number;
  size?: number;
  width?: number;
  classes: number;
  profile?: boolean;
  byRule?: boolean;
  json?: boolean;
}

const int = (flag: string, min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new MedclassError('MC_CLI_BAD_OPTION', `${flag}: expected an integer ≥ ${min}, got '${v}'`);
  return n;
};
const positive = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new MedclassError('MC_CLI_BAD_OPTION', `${flag}: expected a positive number, got '${v}'`);
  return n;
};

/** The network a flag set names: `--arch` built-in (size from `--size`, default 28 / 224) or MobileNetV2, or `--model` backbone file. */
function buildNetwork(f: BenchFlags, rng: Rng): Network {
  const arch = f.arch ?? (f.model ? undefined : 'resnet18-28');
  if (arch && f.model) throw new MedclassError('MC_CLI_BAD_OPTION', 'give --arch or --model, not both');
  if (arch === 'mobilenet_v2-224' || f.model) {
    return createBackbone(f.model ?? MOBILENET_V2, { numClasses: f.classes, inChannels: f.channels ?? 3, rng: rng.fork('init') });
  }
  if (!arch || !ARCHS.includes(arch)) throw new MedclassError('MC_CLI_BAD_OPTION', `--arch: unknown '${arch}'; valid: ${ARCHS.join(', ')}`, { hint: 'or --model FILE.onnx' });
  const size = f.size ?? (arch.endsWith('-28') || arch === 'compact-cnn' ? 28 : 224);
  return createModel(arch, { inChannels: f.channels ?? (arch === 'resnet18-28' ? 1 : 3), numClasses: f.classes, inputSize: size, ...(f.width ? { width: f.width } : {}), rng: rng.fork('init') });
}

function addFlags(c: Command, defaults: { batch: number; steps: number }): Command {
  return c
    .option('--arch <name>', `built-in network: ${ARCHS.join(', ')} (mobilenet_v2-224: the shared TF MobileNetV2, all parameters trainable)`)
    .option('--model <file>', 'an ONNX backbone (cut at `embedding`, new linear head) instead of --arch')
    .addOption(new Option('--batch <n>', 'images per step').argParser(int('--batch', 1)).default(defaults.batch))
    .addOption(new Option('--steps <n>', 'timed iterations').argParser(int('--steps', 1)).default(defaults.steps))
    .addOption(new Option('--warmup <n>', 'untimed iterations first').argParser(int('--warmup', 0)).default(1))
    .addOption(new Option('--threads <n>', 'onnxruntime intra-op threads (0 = all cores)').argParser(int('--threads', 0)).default(2))
    .addOption(new Option('--channels <n>', 'input channels (default: 1 for resnet18-28, else 3)').argParser(int('--channels', 1)))
    .addOption(new Option('--size <px>', 'input side for built-in networks (default 28 for *-28 and compact-cnn, else 224)').argParser(int('--size', 8)))
    .addOption(new Option('--width <w>', 'width multiplier of built-in networks (e.g. the recipe\'s compact-resnet 0.5)').argParser(positive('--width')))
    .addOption(new Option('--classes <n>', 'classes of the head').argParser(int('--classes', 2)).default(2))
    .option('--profile', 'also profile (onnxruntime) and print the time per op type')
    .option('--by-rule', 'train: group the profile by the gradient rule that emitted each node (with --profile)')
    .option('--json', 'print one JSON line instead of a table');
}

function report(r: BenchResult, f: BenchFlags): void {
  const rec = { ...r, medclass: VERSION };
  if (f.json) {
    out(JSON.stringify(rec));
    return;
  }
  out(table([
    ['mode', 'model', 'batch', 'threads', 'img/s', 'median ms', 'min ms', 'max ms', 'spread', 'CPU ms', 'peak RSS MiB', 'load'],
    [r.mode, r.model, r.batch, r.threads, r.img_per_s, r.median_ms, r.min_ms, r.max_ms, r.spread, r.cpu_ms, r.peak_rss_mb, r.load.join('→')],
  ]));
  if (r.run_median_ms !== undefined) out(`run (forward, loss, backward) ${r.run_median_ms} ms, optimizer update ${r.update_median_ms} ms (medians)`);
  out(`${r.cpu}, ${r.cores} cores, node ${r.node}, onnxruntime ${r.onnxruntime}, medclass ${VERSION}`);
  if (r.profile) out(table([[f.byRule ? 'rule' : 'op', 'ms/run', 'share', 'nodes'], ...r.profile.slice(0, f.byRule ? 25 : 15).map((p) => [p.op, p.ms, `${(p.share * 100).toFixed(1)}%`, p.nodes])]));
}

/** `medclass bench train|infer`: throughput of a compiled training step or of inference, one JSON line with --json. */
export function registerBench(program: Command): void {
  const bench = program.command('bench').description('Time a training step or inference (img/s, median and spread); the machine should be otherwise idle');
  addFlags(bench.command('train').description('full training step: forward, cross-entropy, backward, AdamW update'), { batch: 128, steps: 5 })
    .action(async (f: BenchFlags) => {
      const rng = new Rng(0);
      const net = buildNetwork(f, rng);
      const params = ParameterStore.fromWeights(net.params, net.shapes);
      const masks = rng.fork('dropout');
      const bn: BenchNetwork = {
        name: net.name, graph: net.trainGraph(), params, inputDims: net.inputDims, numClasses: net.numClasses,
        keepOutputs: bnStatOutputs(net), extraFeeds: (b) => dropoutFeeds(net, masks, b),
      };
      const o: BenchOptions = { batch: f.batch, steps: f.steps, warmup: f.warmup, threads: f.threads, profile: f.profile ?? false, profileByRule: f.byRule ?? false, rng };
      report(await benchTrain(bn, o), f);
    });
  addFlags(bench.command('infer').description('inference (the exported graph: batch-norm on running statistics, no dropout)'), { batch: 32, steps: 10 })
    .option('--onnx <file>', 'time this ONNX file as it is (one float input) instead of a network')
    .action(async (f: BenchFlags & { onnx?: string }) => {
      const rng = new Rng(0);
      const o: BenchOptions = { batch: f.batch, steps: f.steps, warmup: f.warmup, threads: f.threads, profile: f.profile ?? false, rng };
      if (f.onnx) {
        report(await benchInfer(f.onnx, loadModel(f.onnx), o), f);
        return;
      }
      const net = buildNetwork(f, rng);
      report(await benchInfer(net.name, net.inferenceGraph(), o), f);
    });
}
