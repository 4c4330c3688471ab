import { stringify } from 'yaml';
import type { RunConfig } from './config.js';

/** Name of the complete, re-runnable config a recipe-chosen run writes into its run directory. */
export const RUN_CONFIG_YAML = 'config.yaml';

/**
 * The resolved run config as YAML (every field, defaults included) under `#` comment lines: what
 * `medclass train --config FILE` reads back to the same config.
 */
export function runConfigYaml(cfg: RunConfig, comments: readonly string[] = []): string {
  const head = comments.flatMap((c) => c.split('\n')).map((l) => `# ${l}`.trimEnd()).join('\n');
  return `${head ? `${head}\n` : ''}${stringify(cfg, { lineWidth: 0 })}`;
}
