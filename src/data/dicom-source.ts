import { closeSync, openSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { sniffDicom } from './dicom-parse.js';
import { fileItem } from './file-item.js';
import type { ImageGuardOptions } from './options.js';
import type { DatasetSource } from './types.js';

/** Whether the file at `path` starts like DICOM (reads its first 140 bytes; unreadable files → false). */
export function isDicomFile(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = new Uint8Array(140);
    const n = readSync(fd, head, 0, head.length, 0);
    return sniffDicom(head.subarray(0, n)) !== undefined;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * One DICOM file as a one-item source (label `unlabelled`, id = the file name), so that `data audit`, inspection
 * and prediction code paths accept a single `.dcm`. Decoding errors (and the image `guard`'s) surface on `load()` like any folder item.
 */
export function openDicomFile(path: string, guard?: ImageGuardOptions): DatasetSource {
  const name = basename(path);
  return { kind: 'folder', name, classes: ['unlabelled'], items: [fileItem({ absPath: path, id: name, label: 'unlabelled', labelIndex: 0, ...(guard ? { guard } : {}) })] };
}
