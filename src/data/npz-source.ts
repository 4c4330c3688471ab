import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { MedclassError } from '../errors.js';
import { readNpz, type Tensor } from '../engine/index.js';
import type { DatasetItem, DatasetSource, DecodedImage, SplitName } from './types.js';

/** Class names of MedMNIST v2 sets (from MedMNIST `INFO`), keyed by the lower-case file stem. */
const MEDMNIST_LABELS: Record<string, readonly string[]> = {
  pneumoniamnist: ['normal', 'pneumonia'],
  breastmnist: ['malignant', 'normal, benign'],
  retinamnist: ['0', '1', '2', '3', '4'],
  dermamnist: ['actinic keratoses and intraepithelial carcinoma', 'basal cell carcinoma', 'benign keratosis-like lesions',
    'dermatofibroma', 'melanoma', 'melanocytic nevi', 'vascular lesions'],
  bloodmnist: ['basophil', 'eosinophil', 'erythroblast', 'immature granulocytes', 'lymphocyte', 'monocyte', 'neutrophil', 'platelet'],
};

function labelValues(t: Tensor, key: string, n: number, file: string): number[] {
  const ok = (t.dims.length === 1 && t.dims[0] === n) || (t.dims.length === 2 && t.dims[0] === n && t.dims[1] === 1);
  if (!ok) throw new MedclassError('MC_DATA_BAD_NPZ', `${file}: ${key} has shape (${t.dims.join(',')}), expected (${n},1) or (${n},)`, { file });
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}

/**
 * A MedMNIST-style `.npz`: `{train,val,test}_{images,labels}` uint8 arrays, images `(N,H,W)` grey or `(N,H,W,3)`
 * RGB, labels `(N,1)` or `(N,)`, zip entries stored or deflated. The official splits are kept; item ids are
 * `split/index`. Class names come from MedMNIST's table for known file names, else the label values.
 */
export function openNpzSource(path: string, bytes?: Uint8Array): DatasetSource {
  const file = basename(path);
  let arrays: Map<string, Tensor>;
  try {
    arrays = readNpz(bytes ?? readFileSync(path), file);
  } catch (cause) {
    if (cause instanceof MedclassError) throw cause;
    throw new MedclassError('MC_DATA_BAD_NPZ', `${file}: could not be read (${String(cause)})`, { file, cause });
  }
  const parts: { split: SplitName; images: Tensor; labels: number[] }[] = [];
  for (const split of ['train', 'val', 'test'] as const) {
    const images = arrays.get(`${split}_images`);
    const labels = arrays.get(`${split}_labels`);
    if (!images && !labels) continue;
    if (!images || !labels) throw new MedclassError('MC_DATA_BAD_NPZ', `${file}: has ${split}_${images ? 'images' : 'labels'} but not ${split}_${images ? 'labels' : 'images'}`, { file });
    if (images.dtype !== 'uint8' || !(images.dims.length === 3 || (images.dims.length === 4 && [1, 3, 4].includes(images.dims[3]!)))) {
      throw new MedclassError('MC_DATA_BAD_NPZ', `${file}: ${split}_images is ${images.dtype} (${images.dims.join(',')}), expected uint8 (N,H,W) or (N,H,W,3)`, { file });
    }
    parts.push({ split, images, labels: labelValues(labels, `${split}_labels`, images.dims[0]!, file) });
  }
  if (parts.length === 0) {
    throw new MedclassError('MC_DATA_BAD_NPZ', `${file}: no train_images/train_labels (found ${[...arrays.keys()].join(', ') || 'no arrays'})`, { file, hint: 'check the file against the MedMNIST layout' });
  }
  const maxLabel = Math.max(...parts.flatMap((p) => p.labels));
  const stem = file.replace(/\.npz$/i, '').toLowerCase();
  const known = MEDMNIST_LABELS[stem];
  const classes = known && known.length > maxLabel ? [...known] : Array.from({ length: maxLabel + 1 }, (_, i) => String(i));
  const items: DatasetItem[] = [];
  for (const { split, images, labels } of parts) {
    const [, h, w] = images.dims as number[];
    const channels = (images.dims[3] ?? 1) as DecodedImage['channels'];
    const stride = h! * w! * channels;
    const data = images.data as Uint8Array;
    labels.forEach((labelIndex, i) => {
      if (!Number.isInteger(labelIndex) || labelIndex < 0) throw new MedclassError('MC_DATA_BAD_NPZ', `${file}: ${split}_labels[${i}] = ${labelIndex} is not a class index`, { file });
      items.push({
        id: `${split}/${i}`, label: classes[labelIndex]!, labelIndex, split,
        load: async () => ({ width: w!, height: h!, channels, data: data.subarray(i * stride, (i + 1) * stride) }),
      });
    });
  }
  return { kind: 'npz', name: file, classes, items };
}
