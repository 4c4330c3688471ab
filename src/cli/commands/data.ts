import { readFileSync, writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { MedclassError } from '../../errors.js';
import { Rng } from '../../engine/index.js';
import {
  assignSplits, auditSource, CsvOptions, DICOM_META_TAGS, DicomMetaTagList, fetchMedmnist, GroupPattern, groupLeaks, kFold, MEDMNIST_FILES, openSource,
  ImageGuardOptions, SplitOptions, groupSourcePhrase, withDicomMeta, withDicomPatientGroups, type AuditReport, type DataEvent, type DicomMetaTag, type OnDataEvent,
} from '../../data/index.js';
import { out, table } from '../output.js';

/** Renders data-layer progress on stderr: a bar with ETA when stderr is a TTY (≤ 10 redraws/s), else nothing. */
export function progressRenderer(): { onEvent: OnDataEvent; done(): void } {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  let drawn = false;
  return {
    onEvent(e: DataEvent) {
      if (e.type !== 'progress' || !tty) return;
      const now = Date.now();
      if (now - last < 100 && e.done < e.total) return;
      last = now;
      const frac = e.total ? e.done / e.total : 1;
      const width = 30;
      const eta = frac > 0 ? ((e.elapsedMs / frac) * (1 - frac)) / 1000 : 0;
      const bar = '█'.repeat(Math.round(frac * width)).padEnd(width, '·');
      process.stderr.write(`\r${e.phase} ${bar} ${e.done}/${e.total} ${(frac * 100).toFixed(0)}% ETA ${eta.toFixed(0)}s `);
      drawn = true;
    },
    done() {
      if (drawn) process.stderr.write('\n');
      drawn = false;
    },
  };
}

const pct = (x: number | null) => (x === null ? 'n/a' : x.toFixed(2));

/** The human-readable audit: counts, sizes, unreadable files, duplicates; at most `list` entries per listing. */
export function formatAudit(r: AuditReport, list = 50): string {
  const lines: string[] = [];
  lines.push(`source: ${r.source.name} (${r.source.kind}), ${r.total_items} items, ${r.readable} readable, classes: ${r.classes.join(', ')}`);
  lines.push('');
  const rows: (string | number)[][] = [['split', 'count', ...r.classes, 'imbalance']];
  for (const [name, s] of Object.entries(r.splits)) rows.push([name, s.count, ...r.classes.map((c) => s.classes[c] ?? 0), pct(s.imbalance_ratio)]);
  lines.push(table(rows));
  lines.push(`class imbalance (max/min, all splits): ${pct(r.imbalance_ratio)}`);
  lines.push(`sizes (WxHxC): ${r.sizes.slice(0, 8).map((s) => `${s.width}x${s.height}x${s.channels} ×${s.count}`).join(', ')}${r.sizes.length > 8 ? `, … ${r.sizes.length} sizes` : ''}`);
  const d = r.duplicates;
  lines.push(`unreadable: ${r.unreadable.length}`);
  for (const u of r.unreadable.slice(0, list)) lines.push(`  ${u.path}  ${u.code}  ${u.reason}`);
  lines.push(`exact duplicates (decoded pixels): ${d.exact_groups.length} groups, ${d.exact_extra_copies} extra copies; across splits: ${d.cross_split.length}; label conflicts: ${d.label_conflicts.length}`);
  const fmt = (m: { path: string; split: string; label: string }[]) => m.map((x) => `${x.path} [${x.split}, ${x.label}]`).join('  =  ');
  if (d.cross_split.length) lines.push('  across splits:');
  for (const g of d.cross_split.slice(0, list)) lines.push(`    ${fmt(g.members)}`);
  if (d.label_conflicts.length) lines.push('  label conflicts:');
  for (const g of d.label_conflicts.slice(0, list)) lines.push(`    ${fmt(g.members)}`);
  const within = d.exact_groups.filter((g) => new Set(g.members.map((m) => m.split)).size === 1);
  if (within.length) lines.push(`  within one split: ${within.length} groups`);
  for (const g of within.slice(0, list)) lines.push(`    ${fmt(g.members)}`);
  if (within.length > list) lines.push(`    … ${within.length - list} more (see --json)`);
  const n = d.near;
  lines.push(`near duplicates (dHash-256 Hamming ≤ ${n.threshold}, pixels differ): ${n.pair_count} pairs; across splits: ${n.cross_split.length}; label conflicts: ${n.label_conflicts.length}`);
  for (const p of n.cross_split.slice(0, Math.min(list, 20))) lines.push(`    d=${p.distance}  ${fmt(p.members)}`);
  for (const [key, counts] of Object.entries(r.meta ?? {})) {
    lines.push(`${key}: ${Object.entries(counts).map(([v, n]) => `${v === '' ? '(none)' : v} ×${n}`).join(', ')}`);
  }
  const g = r.groups;
  if (g) {
    const from = g.pattern ? ` (from file names, /${g.pattern}/)` : g.column?.detected ? ` (from ${groupSourcePhrase(g.column)})` : '';
    lines.push(`groups${from}: ${g.count}; items without a group: ${g.without_group}; groups in more than one split: ${g.cross_split.length}`);
    for (const x of g.cross_split.slice(0, Math.min(list, 20))) lines.push(`    ${x.group} [${x.splits.join(', ')}]`);
  }
  return lines.join('\n');
}

/** The CSV column mapping from `--path-col`, `--label-col`, … and `--csv-config` (undefined when none is given). */
export function csvOptionsFrom(opts: Record<string, string | undefined>): CsvOptions | undefined {
  let base: Record<string, unknown> = {};
  if (opts.csvConfig) {
    try {
      base = parseYaml(readFileSync(opts.csvConfig, 'utf8')) as Record<string, unknown>;
    } catch (cause) {
      throw new MedclassError('MC_CLI_BAD_OPTION', `--csv-config ${opts.csvConfig}: could not be read as YAML/JSON (${String(cause)})`, { cause });
    }
  }
  const flags = {
    pathCol: opts.pathCol, labelCol: opts.labelCol, splitCol: opts.splitCol, groupCol: opts.groupCol, pathTemplate: opts.pathTemplate,
    allowOutsidePaths: opts.allowOutsidePaths === undefined ? undefined : true,
  };
  const merged = { ...base, ...Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) };
  const parsed = CsvOptions.safeParse(merged);
  if (!parsed.success) {
    throw new MedclassError('MC_CLI_BAD_OPTION', `CSV column mapping is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`, { hint: 'keys: pathCol, labelCol, splitCol, groupCol, pathTemplate, delimiter, allowOutsidePaths' });
  }
  return Object.keys(merged).length ? parsed.data : undefined;
}

function intOption(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new MedclassError('MC_CLI_BAD_OPTION', `${name} must be a non-negative integer, got '${v}'`);
    return n;
  };
}

/** Adds the CSV column-mapping flags shared by data commands. */
export function addCsvFlags(cmd: Command): Command {
  return cmd
    .option('--path-col <name>', 'CSV: column with the image path or id (default path)')
    .option('--label-col <name>', 'CSV: column with the class name (default label)')
    .option('--split-col <name>', 'CSV: column with train/val/test (default split, optional)')
    .option('--group-col <name>', "CSV: column with a patient/lesion id (default group, else a patient_id/subject_id/lesion_id-like column; '' = none)")
    .option('--path-template <tpl>', "CSV: path relative to the CSV, '{}' = the path column, e.g. 'images/{}.jpg'")
    .option('--csv-config <file>', 'CSV: YAML/JSON file with the mapping {pathCol, labelCol, splitCol, groupCol, pathTemplate, delimiter}')
    .option('--allow-outside-paths', `CSV: ${CsvOptions.shape.allowOutsidePaths.description!}`);
}

/** Adds the image-guard flags (`--max-pixels`, `--min-side`; defaults from `ImageGuardOptions`) to a command. */
export function addGuardFlags(cmd: Command): Command {
  const d = ImageGuardOptions.parse({});
  return cmd
    .addOption(new Option('--max-pixels <n>', `${ImageGuardOptions.shape.maxPixels.description!} (default ${d.maxPixels})`).argParser(intOption('--max-pixels')))
    .addOption(new Option('--min-side <px>', `${ImageGuardOptions.shape.minSide.description!} (default ${d.minSide})`).argParser(intOption('--min-side')));
}

/** The image guard from `--max-pixels` / `--min-side` (undefined when neither is given: the defaults apply). */
export function guardFrom(opts: { maxPixels?: number | string; minSide?: number | string }): ImageGuardOptions | undefined {
  if (opts.maxPixels === undefined && opts.minSide === undefined) return undefined;
  const parsed = ImageGuardOptions.safeParse({ ...(opts.maxPixels !== undefined ? { maxPixels: Number(opts.maxPixels) } : {}), ...(opts.minSide !== undefined ? { minSide: Number(opts.minSide) } : {}) });
  if (!parsed.success) throw new MedclassError('MC_CLI_BAD_OPTION', `image guard: ${parsed.error.issues.map((i) => `--${String(i.path[0]) === 'maxPixels' ? 'max-pixels' : 'min-side'}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** Adds `--group-pattern` (groups from file names) to a command. */
export function addGroupPatternFlag(cmd: Command): Command {
  return cmd.option('--group-pattern <regex>', 'groups (patients) from file names: the first capture group, or the whole match, is the group id; unmatched files get none');
}

/** Checks a `--group-pattern` value (MC_CLI_BAD_OPTION when it is not a regular expression). */
export function groupPatternFrom(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const parsed = GroupPattern.safeParse(value);
  if (!parsed.success) throw new MedclassError('MC_CLI_BAD_OPTION', `--group-pattern '${value}': ${parsed.error.issues.map((i) => i.message).join('; ')}`, { hint: "e.g. '^(person\\d+)'" });
  return parsed.data;
}

/** The `--dicom-meta [tags]` flag: every allowed tag when bare or `all`, else a comma list checked against `DICOM_META_TAGS`. */
export function dicomMetaTagsFrom(value: string | boolean | undefined): DicomMetaTag[] | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true || value === 'all') return [...DICOM_META_TAGS];
  const parsed = DicomMetaTagList.safeParse(value.split(',').map((t) => t.trim()).filter(Boolean));
  if (!parsed.success) {
    throw new MedclassError('MC_CLI_BAD_OPTION', `--dicom-meta '${value}': only these tags may be copied: ${DICOM_META_TAGS.join(', ')}`, { hint: 'identifying tags (names, IDs, dates, UIDs, institution) are never offered' });
  }
  return parsed.data;
}

/** Opens a source from a command's CSV, group-pattern and image-guard flags. */
export function openFromFlags(source: string, opts: Record<string, string | undefined>, guard?: ImageGuardOptions) {
  const csv = csvOptionsFrom(opts);
  const groupPattern = groupPatternFrom(opts.groupPattern);
  return openSource(source, { ...(csv ? { csv } : {}), ...(groupPattern ? { groupPattern } : {}), ...(guard ? { guard } : {}) });
}

export function registerData(program: Command): void {
  const data = program.command('data').description('Dataset tools: audit a source, fetch MedMNIST');
  addGuardFlags(addGroupPatternFlag(addCsvFlags(
    data.command('audit')
      .description('Audit a dataset: counts, sizes, unreadable files (and images the guard refuses: too many pixels, too small, multi-frame), exact/near duplicates, label conflicts')
      .argument('<source>', 'image folder, MedMNIST .npz, CSV manifest, or phantom:[n=..,size=..,seed=..]'),
  )))
    .option('--json <file>', 'write the full audit as JSON')
    .addOption(new Option('--near-threshold <bits>', 'near duplicate: 256-bit dHash Hamming distance at most this').default(10).argParser(intOption('--near-threshold')))
    .addOption(new Option('--concurrency <n>', 'images decoded at once').default(4).argParser(intOption('--concurrency')))
    .addOption(new Option('--list <n>', 'entries shown per listing in the table').default(50).argParser(intOption('--list')))
    .option('--dicom-meta [tags]', `count items per value of these DICOM tags (comma list; bare or 'all': ${DICOM_META_TAGS.join(', ')}); identifiers never`)
    .action(async (source: string, opts: Record<string, string | undefined> & { nearThreshold: number; concurrency: number; list: number; dicomMeta?: string | boolean; maxPixels?: number; minSide?: number }) => {
      const tags = dicomMetaTagsFrom(opts.dicomMeta);
      const opened = await withDicomPatientGroups(openFromFlags(source, opts, guardFrom(opts)));
      const src = tags ? await withDicomMeta(opened, { tags }) : opened;
      const progress = progressRenderer();
      let report: AuditReport;
      try {
        report = await auditSource(src, { nearThreshold: opts.nearThreshold, concurrency: Math.max(1, opts.concurrency), metaKeys: tags ?? [] }, progress.onEvent);
      } finally {
        progress.done();
      }
      out(formatAudit(report, opts.list));
      if (opts.json) {
        writeFileSync(opts.json, `${JSON.stringify(report, null, 2)}\n`);
        out(`audit JSON written to ${opts.json}`);
      }
      process.exitCode = 0;
    });

  data.command('fetch')
    .description('Download a MedMNIST .npz (28 px) with an MD5 check')
    .argument('<name>', `dataset: ${Object.keys(MEDMNIST_FILES).join(', ')}`)
    .requiredOption('--dir <dir>', 'folder to write <name>.npz into')
    .option('--url <url>', 'download from this mirror instead of the official Zenodo URL')
    .option('--md5 <md5>', 'expected MD5 (default: the official one)')
    .action(async (name: string, opts: { dir: string; url?: string; md5?: string }) => {
      const progress = progressRenderer();
      let r;
      try {
        r = await fetchMedmnist(name, { dir: opts.dir, url: opts.url, md5: opts.md5, onEvent: progress.onEvent });
      } finally {
        progress.done();
      }
      out(r.downloaded ? `downloaded ${r.bytes} bytes to ${r.path}, MD5 ${r.md5} ok` : `${r.path} already present, MD5 ${r.md5} ok`);
      process.exitCode = 0;
    });

  addGroupPatternFlag(addCsvFlags(
    data.command('split')
      .description('Make seeded splits (stratified, group-aware, k-fold) and check that no group spans two splits')
      .argument('<source>', 'image folder, MedMNIST .npz, CSV manifest, or phantom:'),
  ))
    .addOption(new Option('--mode <mode>', 'keep the source split, re-split everything, or merge train+val and re-split').choices(['keep', 'stratified', 'merge-train-val']).default('keep'))
    .option('--fractions <t,v,t>', 'train,val,test fractions for stratified splits', '0.7,0.15,0.15')
    .option('--val-fraction <f>', 'val share of pooled train+val in merge-train-val', '0.2')
    .option('--seed <n>', 'seed (splits draw from Rng(seed).fork("split"))', '0')
    .option('--no-by-group', 'ignore groups (allows the same patient/lesion in two splits)')
    .addOption(new Option('--k <folds>', 'instead: stratified k-fold (group-aware), fold per item').argParser(intOption('--k')))
    .option('--out <file>', 'write id,label,group,split (or fold) as CSV')
    .action(async (source: string, opts: Record<string, string | undefined> & { byGroup: boolean; k?: number }) => {
      const src = await withDicomPatientGroups(openFromFlags(source, opts));
      const fractions = (opts.fractions ?? '').split(',').map(Number);
      const parsed = SplitOptions.safeParse({
        mode: opts.mode, fractions, valFraction: Number(opts.valFraction), seed: Number(opts.seed), byGroup: opts.byGroup,
      });
      if (!parsed.success) {
        throw new MedclassError('MC_CLI_BAD_OPTION', `split options: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      }
      const o = parsed.data;
      let assignment: string[];
      if (opts.k !== undefined) {
        const folds = kFold(src.items, opts.k, new Rng(o.seed).fork('kfold'), { byGroup: o.byGroup });
        assignment = src.items.map((_, i) => `fold${folds.get(i)}`);
      } else {
        assignment = assignSplits(src.items, o);
      }
      const names = [...new Set(assignment)].sort();
      const rows: (string | number)[][] = [[opts.k !== undefined ? 'fold' : 'split', 'count', ...src.classes]];
      for (const n of names) {
        const idx = assignment.flatMap((a, i) => (a === n ? [i] : []));
        rows.push([n, idx.length, ...src.classes.map((_, c) => idx.filter((i) => src.items[i]!.labelIndex === c).length)]);
      }
      out(table(rows));
      const grouped = src.items.some((i) => i.group !== undefined);
      if (grouped) {
        const leaks = groupLeaks(src.items, assignment as never[]);
        const distinct = new Set(src.items.flatMap((i) => (i.group === undefined ? [] : [i.group]))).size;
        const unmatched = src.groupPattern ? `; files unmatched by --group-pattern: ${src.groupPattern.unmatched}` : '';
        const from = src.groupColumn?.detected ? ` (from ${groupSourcePhrase(src.groupColumn)}${opts.byGroup ? '; --no-by-group ignores them' : ''})` : '';
        out(`groups${from}: ${distinct}; groups in more than one ${opts.k !== undefined ? 'fold' : 'split'}: ${leaks.length}${unmatched}`);
      } else out(src.groupPattern ? `groups: none (no file name matched --group-pattern; ${src.groupPattern.unmatched} unmatched)` : 'groups: none in this source');
      if (opts.out) {
        const q = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
        const lines = ['id,label,group,' + (opts.k !== undefined ? 'fold' : 'split'), ...src.items.map((it, i) => [it.id, it.label, it.group ?? '', assignment[i]!].map(q).join(','))];
        writeFileSync(opts.out, `${lines.join('\n')}\n`);
        out(`written to ${opts.out}`);
      }
      process.exitCode = 0;
    });
}
