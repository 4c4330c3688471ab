import { z } from 'zod';
import { mapLimit } from './concurrency.js';
import { parseDicom, type DicomElements } from './dicom-parse.js';
import type { DatasetItem, DatasetSource, MetaValue } from './types.js';

/**
 * DICOM tags that may be copied into item metadata: acquisition descriptors that identify no patient, institution,
 * person, date or study. Names, IDs, dates, UIDs, institution and device names are never offered.
 */
export const DICOM_META_TAGS = [
  'Modality', 'BodyPartExamined', 'ViewPosition', 'ImageLaterality', 'Laterality', 'PhotometricInterpretation',
  'Rows', 'Columns', 'BitsStored',
] as const;
export type DicomMetaTag = (typeof DICOM_META_TAGS)[number];

/** A list of tags from `DICOM_META_TAGS` (default none); run configs use it as `data.dicomMeta`. */
export const DicomMetaTagList = z.array(z.enum(DICOM_META_TAGS)).default([])
  .describe(`DICOM tags to copy into item metadata (for subgroups), only from: ${DICOM_META_TAGS.join(', ')}; identifiers never`);

/** Which non-identifying DICOM tags to copy into `item.meta` (default none: no tag leaves the file). */
export const DicomMetaOptions = z.strictObject({
  tags: DicomMetaTagList,
  concurrency: z.number().int().min(1).max(64).default(4).describe('headers read at once'),
});
export type DicomMetaOptions = z.input<typeof DicomMetaOptions>;

function metaValue(v: unknown): MetaValue {
  const x = Array.isArray(v) ? v[0] : v;
  if (typeof x === 'number' || typeof x === 'boolean') return x;
  if (typeof x === 'string') return x.replace(/\0+$/, '').trim() || null;
  return null;
}

/** The allowed tags of one parsed header as metadata (missing tags → null). */
export function pickDicomMeta(elements: DicomElements, tags: readonly DicomMetaTag[]): Record<string, MetaValue> {
  return Object.fromEntries(tags.map((t) => [t, metaValue(elements[t])]));
}

/**
 * A copy of `source` whose file-backed DICOM items carry the asked-for tags (only from `DICOM_META_TAGS`) in `meta`,
 * read from each header (pixel data not read). Items that are not DICOM or fail to parse keep their meta unchanged;
 * their load() reports them. With no tags (the default) the source is returned as is.
 * @example const src = await withDicomMeta(openSource('cxr/'), { tags: ['Modality', 'ViewPosition'] });
 */
export async function withDicomMeta(source: DatasetSource, options: DicomMetaOptions = {}): Promise<DatasetSource> {
  const o = DicomMetaOptions.parse(options);
  if (o.tags.length === 0) return source;
  const items = await mapLimit(source.items, o.concurrency, async (item): Promise<DatasetItem> => {
    if (!item.bytes) return item;
    try {
      const { elements } = parseDicom(await item.bytes(), item.id, true);
      return { ...item, meta: { ...item.meta, ...pickDicomMeta(elements, o.tags) } };
    } catch {
      return item;
    }
  });
  return { ...source, items };
}
