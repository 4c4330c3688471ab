import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { MedclassError } from '../errors.js';
import { fileItem } from './file-item.js';
import { canonicalSplit } from './split-names.js';
import type { ImageGuardOptions } from './options.js';
import type { DatasetItem, DatasetSource, SplitName } from './types.js';

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const visible = (name: string) => !name.startsWith('.') && name !== 'Thumbs.db' && name !== '__MACOSX';

function isFileTarget(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return true; // a broken link is listed, and its load() reports it as missing
  }
}

function subdirs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory() && visible(d.name)).map((d) => d.name).sort(byName);
}

/** Every visible file below `dir`, as paths relative to `dir` with '/' separators, sorted. */
function filesBelow(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const d of readdirSync(dir, { withFileTypes: true }).sort((a, b) => byName(a.name, b.name))) {
    if (!visible(d.name)) continue;
    const rel = prefix ? `${prefix}/${d.name}` : d.name;
    if (d.isDirectory()) out.push(...filesBelow(join(dir, d.name), rel));
    else if (d.isFile() || (d.isSymbolicLink() && isFileTarget(join(dir, d.name)))) out.push(rel);
  }
  return out;
}

/**
 * An image folder: `<class>/*` or `<split>/<class>/*` (splits train/val/test, also Training/Testing/valid,
 * case-insensitive). Every visible file inside a class folder is an item (sub-folders included); files that turn
 * out not to be images fail on `load()` with a coded error, so a listing never fails on one bad file.
 * Classes are the union of class-folder names, sorted. `guard` sets the items' pixel limit and minimum size
 * (defaults when absent); an image it rejects fails its own `load()`, reported and skipped like any unreadable file.
 */
export function openFolderSource(root: string, idPrefix = '', guard?: ImageGuardOptions): DatasetSource {
  let dirs: string[];
  try {
    dirs = subdirs(root);
  } catch (cause) {
    throw new MedclassError('MC_DATA_BAD_SOURCE', `${basename(root)}: folder could not be read`, { file: basename(root), cause });
  }
  if (dirs.length === 0) {
    throw new MedclassError('MC_DATA_BAD_SOURCE', `${basename(root)}: no class folders (expected <class>/* or <split>/<class>/*)`, { file: basename(root) });
  }
  // A lone wrapper folder holding only class (or split) folders, e.g. `brain_tumor_dataset/{yes,no}`: descend into it.
  if (dirs.length === 1 && canonicalSplit(dirs[0]!) === undefined) {
    const inner = join(root, dirs[0]!);
    const hasFiles = readdirSync(inner, { withFileTypes: true }).some((d) => !d.isDirectory() && visible(d.name));
    if (!hasFiles && subdirs(inner).length >= 2) {
      return { ...openFolderSource(inner, `${idPrefix}${dirs[0]}/`, guard), name: basename(root) };
    }
  }
  const splitOf = dirs.map((d) => canonicalSplit(d));
  const isSplitLayout = splitOf.every((s) => s !== undefined);
  if (!isSplitLayout && splitOf.some((s) => s !== undefined) && dirs.length > 1) {
    const named = dirs.filter((_, i) => splitOf[i]);
    throw new MedclassError('MC_DATA_BAD_SOURCE',
      `${basename(root)}: mixes split folders (${named.join(', ')}) with other folders (${dirs.filter((_, i) => !splitOf[i]).join(', ')})`,
      { file: basename(root), hint: 'use either <class>/* or <split>/<class>/* with train/val/test' });
  }
  const entries: { rel: string; cls: string; split?: SplitName }[] = [];
  const addClasses = (dir: string, prefix: string, split?: SplitName) => {
    for (const cls of subdirs(join(root, dir))) {
      for (const f of filesBelow(join(root, dir, cls))) entries.push({ rel: `${prefix}${cls}/${f}`, cls, split });
    }
  };
  if (isSplitLayout) dirs.forEach((d, i) => addClasses(d, `${d}/`, splitOf[i]));
  else addClasses('', '');
  const classes = [...new Set(entries.map((e) => e.cls))].sort(byName);
  const index = new Map(classes.map((c, i) => [c, i]));
  const items: DatasetItem[] = entries.map((e) => fileItem({
    absPath: join(root, e.rel), id: idPrefix + e.rel, label: e.cls, labelIndex: index.get(e.cls)!, ...(e.split ? { split: e.split } : {}), ...(guard ? { guard } : {}),
  }));
  return { kind: 'folder', name: basename(root), classes, items };
}

