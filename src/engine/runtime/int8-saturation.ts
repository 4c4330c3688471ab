import { readFileSync } from 'node:fs';
import { arch } from 'node:os';

/**
 * Whether onnxruntime's u8·s8 int8 kernels can saturate on this CPU: x86 without VNNI (AVX2, AVX-512F/BW) multiplies
 * through VPMADDUBSW, whose 16-bit pair sums clamp at 32767. VNNI (avx512_vnni, avx_vnni) accumulates in 32 bits
 * and Arm's dot-product kernels widen, so neither saturates. Where the flags cannot be read (x86 off Linux) the
 * answer is the safe one, true.
 */
export function int8MaySaturate(cpuinfo?: string, cpuArch: string = arch()): boolean {
  if (cpuArch !== 'x64' && cpuArch !== 'ia32') return false;
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return true;
    }
  }
  const flags = new Set((/^flags\s*:\s*(.*)$/m.exec(text)?.[1] ?? '').split(/\s+/));
  return !(flags.has('avx512_vnni') || flags.has('avx_vnni'));
}
