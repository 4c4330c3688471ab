import type { SplitName } from './types.js';

const ALIASES: Record<string, SplitName> = {
  train: 'train', training: 'train',
  val: 'val', valid: 'val', validation: 'val', dev: 'val',
  test: 'test', testing: 'test',
};

/** Maps a split name as written by a dataset (Training, VALID, test, …) to train/val/test, case-insensitively. */
export function canonicalSplit(name: string): SplitName | undefined {
  return ALIASES[name.trim().toLowerCase()];
}

export const SPLIT_ORDER: readonly SplitName[] = ['train', 'val', 'test'];
