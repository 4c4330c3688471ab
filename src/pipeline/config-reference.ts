import { z } from 'zod';
import { RunConfig } from './config.js';

/** One JSON-Schema node, as `z.toJSONSchema` writes it (only the fields the reference reads). */
interface SchemaNode {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  items?: SchemaNode | SchemaNode[];
  prefixItems?: SchemaNode[];
  properties?: Record<string, SchemaNode>;
  required?: string[];
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
}

/** One row of the reference: a dotted field path and what it takes. */
export interface ConfigField {
  path: string;
  type: string;
  required: boolean;
  default?: unknown;
  description: string;
}

const SAFE = Number.MAX_SAFE_INTEGER;

function bounds(n: SchemaNode): string {
  const parts: string[] = [];
  if (n.minimum !== undefined && n.minimum > -SAFE) parts.push(`≥ ${n.minimum}`);
  if (n.exclusiveMinimum !== undefined) parts.push(`> ${n.exclusiveMinimum}`);
  if (n.maximum !== undefined && n.maximum < SAFE) parts.push(`≤ ${n.maximum}`);
  if (n.exclusiveMaximum !== undefined) parts.push(`< ${n.exclusiveMaximum}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/** A short type for one schema node: `number (≥ 0)`, `'a' | 'b'`, `[number, number]`, `string[]`, `object`. */
function typeOf(n: SchemaNode): string {
  if (n.enum) return n.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (n.const !== undefined) return JSON.stringify(n.const);
  const alts = n.anyOf ?? n.oneOf;
  if (alts) return alts.map(typeOf).join(' \\| ');
  if (n.prefixItems) return `[${n.prefixItems.map(typeOf).join(', ')}]`;
  const t = Array.isArray(n.type) ? n.type.join(' \\| ') : n.type;
  if (t === 'array' && n.items && !Array.isArray(n.items)) {
    const inner = typeOf(n.items);
    return inner.includes(' ') && !inner.startsWith('[') ? `(${inner})[]` : `${inner}[]`;
  }
  return `${t ?? 'any'}${bounds(n)}`;
}

function walk(node: SchemaNode, prefix: string, required: boolean, rows: ConfigField[]): void {
  const objectItems = node.type === 'array' && node.items && !Array.isArray(node.items) && node.items.properties ? node.items : undefined;
  const props = node.properties ?? objectItems?.properties;
  const description = node.description ?? objectItems?.description ?? '';
  if (prefix) {
    rows.push({
      path: prefix,
      type: props ? (objectItems ? 'object[]' : 'object') : typeOf(node),
      required,
      ...(node.default !== undefined && !props ? { default: node.default } : {}),
      description,
    });
  }
  if (!props) return;
  const req = new Set((node.properties ? node.required : objectItems?.required) ?? []);
  const base = prefix ? (objectItems ? `${prefix}[].` : `${prefix}.`) : '';
  for (const [k, child] of Object.entries(props)) walk(child, `${base}${k}`, req.has(k), rows);
}

/** Every field of a run configuration, in schema order, from the zod schemas' own descriptions and defaults. */
export function configFields(): ConfigField[] {
  const schema = z.toJSONSchema(RunConfig, { io: 'input', unrepresentable: 'any' }) as SchemaNode;
  const rows: ConfigField[] = [];
  walk(schema, '', true, rows);
  return rows;
}

/** The run-configuration reference as Markdown (docs/config.md is this text; a test keeps them equal). */
export function configReferenceMarkdown(): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = [
    '# Run configuration reference',
    '',
    'Generated from the zod schemas in `src/pipeline/config.ts` and the option modules it uses',
    '(`node bin/medclass.js config --reference > docs/config.md`; `test/pipeline/config-reference.test.ts` fails when',
    'this file is out of date). `medclass config run.yaml` checks a file and prints it with every default filled in.',
    'Fields marked **required** have no default; `a.b[]` is a field of each element of the list `a.b`.',
    '',
    '| field | type | default | description |',
    '| --- | --- | --- | --- |',
  ];
  for (const f of configFields()) {
    const def = f.default === undefined ? (f.required && f.type !== 'object' ? '**required**' : '') : `\`${JSON.stringify(f.default)}\``;
    lines.push(`| \`${f.path}\` | ${f.type} | ${cell(def)} | ${cell(f.description)} |`);
  }
  return `${lines.join('\n')}\n`;
}
