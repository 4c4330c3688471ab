import { MedclassError } from '../errors.js';

/**
 * Parses CSV text (RFC 4180: quoted fields, doubled quotes, CRLF or LF, a BOM) into rows of strings.
 * Returns rows with their 1-based line numbers so errors can name them.
 */
export function parseCsv(text: string, file: string, delimiter = ','): { line: number; cells: string[] }[] {
  const rows: { line: number; cells: string[] }[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  let rowLine = 1;
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let any = false;
  const endRow = () => {
    cells.push(cell);
    if (!(cells.length === 1 && cells[0] === '')) rows.push({ line: rowLine, cells });
    cells = [];
    cell = '';
    any = false;
  };
  for (; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') { cell += '"'; i++; } else quoted = false;
      } else {
        if (ch === '\n') line++;
        cell += ch;
      }
      continue;
    }
    if (!any) { rowLine = line; any = true; }
    if (ch === '"' && cell === '') quoted = true;
    else if (ch === delimiter) { cells.push(cell); cell = ''; }
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRow();
      line++;
    } else cell += ch;
  }
  if (quoted) throw new MedclassError('MC_DATA_BAD_CSV', `${file}: line ${rowLine}: unterminated quoted field`, { file });
  if (any || cell !== '' || cells.length) endRow();
  return rows;
}
