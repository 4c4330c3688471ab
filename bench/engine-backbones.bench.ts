// The issue-4 throughput configurations through the CLI (`medclass bench … --json`), each beside its PyTorch 1.13 peer
// (Debian python3-torch, 2 threads: ../shared/bench/peer_torch_one.py) measured in the same run, alternated medclass,
// PyTorch, medclass, PyTorch …: ResNet-18 (28 px, 1 channel, batch 128) training; MobileNetV2-224 (batch 32; ours:
// the shared TF model, all parameters trainable) training and inference. One JSON line per configuration: every
// round's img/s and the 1-minute load average before it, the medians and the ratio (medclass / PyTorch).
// Args: [threads=2] [rounds=2]. A ratio is only meaningful beside the load it was measured at.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../bin/medclass.js', import.meta.url));
const peer = fileURLToPath(new URL('../../shared/bench/peer_torch_one.py', import.meta.url));
const threads = process.argv[2] ?? '2';
const rounds = Number(process.argv[3] ?? 2);
const CONFIGS: [workload: string, args: string[]][] = [
  ['train-resnet18-28', ['train', '--arch', 'resnet18-28', '--batch', '128', '--steps', '5']],
  ['train-mobilenet_v2-224', ['train', '--arch', 'mobilenet_v2-224', '--batch', '32', '--steps', '5']],
  ['infer-mobilenet_v2-224', ['infer', '--arch', 'mobilenet_v2-224', '--batch', '32', '--steps', '10']],
];
const jsonLine = (out: string | null) => {
  const line = (out ?? '').split('\n').find((l) => l.startsWith('{'));
  return line ? (JSON.parse(line) as { img_per_s: number }) : undefined;
};
const median = (a: number[]) => (a.length ? [...a].sort((x, y) => x - y)[Math.floor((a.length - 1) / 2)]! : NaN);
const hasPeer = existsSync(peer) && existsSync('/usr/bin/python3');
let failed = 0;
for (const [workload, args] of CONFIGS) {
  const ours: { img_per_s: number; load: number }[] = [], theirs: { img_per_s: number; load: number }[] = [];
  let last: Record<string, unknown> | undefined;
  for (let r = 0; r < rounds; r++) {
    const l0 = +loadavg()[0]!.toFixed(2);
    const m = spawnSync(process.execPath, [cli, 'bench', ...args, '--threads', threads, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const rec = m.status === 0 ? jsonLine(m.stdout) : undefined;
    if (rec) { ours.push({ img_per_s: rec.img_per_s, load: l0 }); last = rec as unknown as Record<string, unknown>; }
    if (!hasPeer) continue;
    const l1 = +loadavg()[0]!.toFixed(2);
    const p = spawnSync('/usr/bin/python3', [peer, workload], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const prec = p.status === 0 ? jsonLine(p.stdout) : undefined;
    if (prec) theirs.push({ img_per_s: prec.img_per_s, load: l1 });
  }
  if (ours.length === 0) { failed++; continue; }
  const mo = median(ours.map((o) => o.img_per_s)), mt = median(theirs.map((o) => o.img_per_s));
  console.log(JSON.stringify({
    name: 'engine-backbones', workload, threads: Number(threads), rounds, medclass: ours, pytorch: theirs,
    medclass_median_img_per_s: mo, pytorch_median_img_per_s: theirs.length ? mt : null, ratio: theirs.length ? +(mo / mt).toFixed(2) : null,
    load_after: +loadavg()[0]!.toFixed(2), last, cpu: cpus()[0]?.model, cores: cpus().length,
  }));
}
process.exitCode = failed ? 1 : 0;
