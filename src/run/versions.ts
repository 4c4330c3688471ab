import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

function versionOf(pkg: string): string {
  try {
    return (JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Versions recorded in every run directory: medclass, Node, onnxruntime-node, sharp. */
export function versions(): Record<string, string> {
  return {
    medclass: (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version,
    node: process.version,
    'onnxruntime-node': versionOf('onnxruntime-node'),
    sharp: versionOf('sharp'),
  };
}
