import { randomBytes } from 'node:crypto';
import { MedclassError } from '../errors.js';

/**
 * A small DICOMweb client (PS3.18): QIDO-RS search, WADO-RS instance retrieval and STOW-RS storage over
 * `multipart/related`, on Node's own `fetch` (undici), so TLS certificates are verified as Node does by default
 * (extra hospital CAs through NODE_EXTRA_CA_CERTS; there is no switch to turn verification off).
 *
 * Why not npm `dicomweb-client` (0.11): it is written for browsers on XMLHttpRequest, which Node does not have, so
 * it would need an XHR polyfill and its own multipart code paths; the three transactions medclass needs are short,
 * and owning them lets errors carry catalogue codes and never a credential or a patient UID.
 */

/** Credentials for a DICOMweb server: HTTP basic (user, password) or a bearer token. Never logged or echoed. */
export type DicomWebAuth = { readonly user: string; readonly password: string } | { readonly token: string };

/** How to reach a DICOMweb server. */
export interface DicomWebClientOptions {
  /** base URL of the DICOMweb service, e.g. `https://pacs.example.org/dicom-web` (no credentials in it) */
  readonly url: string;
  readonly auth?: DicomWebAuth;
  /** per-request timeout in milliseconds (default 60 000) */
  readonly timeoutMs?: number;
  /** a fetch implementation (tests); default the global fetch */
  readonly fetch?: typeof fetch;
}

/** One instance found by QIDO-RS: its UIDs and modality (DICOM JSON attributes 0020000D, 0020000E, 00080018, 00080016, 00080060). */
export interface DicomWebInstance {
  readonly studyInstanceUid: string;
  readonly seriesInstanceUid: string;
  readonly sopInstanceUid: string;
  readonly sopClassUid: string;
  readonly modality: string;
}

/** What STOW-RS answered: the SOP Instance UIDs it stored and those it refused (with the failure reason code). */
export interface StowResult {
  readonly stored: string[];
  readonly failed: { sopInstanceUid: string; reason: number | null }[];
}

/** One body part of a multipart/related message: its headers (lower-case names) and bytes. */
export interface MultipartPart {
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
}

type DicomJson = Record<string, { vr?: string; Value?: unknown[] }>;
const first = (d: DicomJson, tag: string): string => {
  const v = d[tag]?.Value?.[0];
  return typeof v === 'string' || typeof v === 'number' ? String(v) : '';
};

/** The `boundary` (and `type`) parameters of a multipart/related Content-Type. */
function contentTypeParams(contentType: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of contentType.matchAll(/;\s*([^=;\s]+)\s*=\s*("([^"]*)"|[^;]*)/g)) out[m[1]!.toLowerCase()] = (m[3] ?? m[2] ?? '').trim();
  return out;
}

/** Splits a multipart/related body into its parts (RFC 2046 §5.1); throws MC_DATA_DICOMWEB_BAD_REPLY when malformed. */
export function parseMultipart(body: Uint8Array, contentType: string): MultipartPart[] {
  const boundary = contentTypeParams(contentType).boundary;
  if (!/^multipart\//i.test(contentType.trim()) || !boundary) {
    throw new MedclassError('MC_DATA_DICOMWEB_BAD_REPLY', `expected a multipart reply with a boundary, got Content-Type '${contentType.slice(0, 80)}'`);
  }
  const buf = Buffer.from(body.buffer, body.byteOffset, body.length);
  const delim = Buffer.from(`--${boundary}`);
  const parts: MultipartPart[] = [];
  let at = buf.indexOf(delim);
  if (at < 0) throw new MedclassError('MC_DATA_DICOMWEB_BAD_REPLY', 'multipart reply without its boundary');
  for (;;) {
    at += delim.length;
    if (buf[at] === 0x2d && buf[at + 1] === 0x2d) break; // closing delimiter
    const headStart = buf.indexOf('\r\n', at) + 2;
    const headEnd = buf.indexOf('\r\n\r\n', headStart - 2);
    const next = buf.indexOf(Buffer.concat([Buffer.from('\r\n'), delim]), headEnd);
    if (headStart < 2 || headEnd < 0 || next < 0) throw new MedclassError('MC_DATA_DICOMWEB_BAD_REPLY', `multipart part ${parts.length} is cut short`);
    const headers: Record<string, string> = {};
    for (const line of buf.subarray(headStart, headEnd).toString('latin1').split('\r\n')) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    parts.push({ headers, body: new Uint8Array(buf.subarray(headEnd + 4, next)) });
    at = next + 2;
  }
  return parts;
}

/** Builds a multipart/related body of DICOM parts; returns the bytes and the Content-Type to send with them. */
export function buildMultipart(parts: readonly Uint8Array[], type = 'application/dicom'): { body: Uint8Array; contentType: string } {
  const boundary = `medclass-${randomBytes(12).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const p of parts) chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: ${type}\r\n\r\n`), Buffer.from(p.buffer, p.byteOffset, p.length), Buffer.from('\r\n'));
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: new Uint8Array(Buffer.concat(chunks)), contentType: `multipart/related; type="${type}"; boundary=${boundary}` };
}

/** The service's base URL without user info, query or fragment, for messages (request paths hold patient UIDs). */
function safeUrl(u: URL): string {
  return `${u.origin}${u.pathname}`;
}

/** A DICOMweb client for one server (QIDO-RS, WADO-RS, STOW-RS); errors are MC_DATA_DICOMWEB_* and carry no secret. */
export class DicomWebClient {
  private readonly base: URL;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly doFetch: typeof fetch;

  constructor(opts: DicomWebClientOptions) {
    let u: URL;
    try {
      u = new URL(opts.url.replace(/\/+$/, ''));
    } catch {
      throw new MedclassError('MC_DATA_DICOMWEB_HTTP', 'the DICOMweb URL is not a valid URL', { hint: 'e.g. https://pacs.example.org/dicom-web' });
    }
    if (u.username || u.password) throw new MedclassError('MC_DATA_DICOMWEB_AUTH', 'the DICOMweb URL carries credentials; they would end up in shell history and logs', { hint: 'pass them in the environment or a credentials file instead' });
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new MedclassError('MC_DATA_DICOMWEB_HTTP', `unsupported URL scheme ${u.protocol}`);
    this.base = u;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.doFetch = opts.fetch ?? fetch;
    const a = opts.auth;
    this.headers = !a ? {} : 'token' in a ? { authorization: `Bearer ${a.token}` } : { authorization: `Basic ${Buffer.from(`${a.user}:${a.password}`, 'utf8').toString('base64')}` };
  }

  private async request(what: string, path: string, init: { method?: string; accept: string; body?: Uint8Array; contentType?: string }): Promise<Response> {
    const url = new URL(`${this.base.pathname}${path}`, this.base);
    const where = `${what} at ${safeUrl(this.base)}`;
    let r: Response;
    try {
      r = await this.doFetch(url, {
        method: init.method ?? 'GET',
        headers: { ...this.headers, accept: init.accept, ...(init.contentType ? { 'content-type': init.contentType } : {}) },
        ...(init.body ? { body: init.body } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'error', // a redirect could carry the Authorization header elsewhere
      });
    } catch (cause) {
      const timeout = (cause as Error)?.name === 'TimeoutError';
      throw new MedclassError('MC_DATA_DICOMWEB_HTTP', `${where}: ${timeout ? `no reply within ${this.timeoutMs} ms` : `request failed (${(cause as Error)?.cause instanceof Error ? ((cause as Error).cause as Error).message : (cause as Error)?.message})`}`, { cause });
    }
    if (r.status === 401 || r.status === 403) {
      await r.body?.cancel();
      throw new MedclassError('MC_DATA_DICOMWEB_AUTH', `${where}: HTTP ${r.status} (${r.status === 401 ? 'credentials missing or wrong' : 'not allowed'})`, {
        hint: 'set MEDCLASS_DICOMWEB_USER and MEDCLASS_DICOMWEB_PASSWORD (or MEDCLASS_DICOMWEB_TOKEN), or pass --credentials-file',
      });
    }
    if (!r.ok && r.status !== 204) {
      // STOW-RS answers 4xx/409 with a DICOM JSON body naming what it stored and refused: hand that to the caller.
      if (init.method === 'POST' && (r.headers.get('content-type') ?? '').includes('json')) return r;
      await r.body?.cancel();
      // The reply body is not echoed: servers put UIDs and paths in it.
      throw new MedclassError('MC_DATA_DICOMWEB_HTTP', `${where}: HTTP ${r.status} ${r.statusText}`.trim());
    }
    return r;
  }

  /**
   * QIDO-RS: the instances matching `query` (DICOM keyword or tag → value, e.g. `{Modality: 'CR'}`), optionally within
   * one study or series. Pages through the results `limit` at a time.
   */
  async searchInstances(query: Record<string, string> = {}, scope: { study?: string; series?: string } = {}, limit = 500): Promise<DicomWebInstance[]> {
    const path = scope.study ? `/studies/${encodeURIComponent(scope.study)}${scope.series ? `/series/${encodeURIComponent(scope.series)}` : ''}/instances` : '/instances';
    const q = { ...query, ...(scope.series && !scope.study ? { SeriesInstanceUID: scope.series } : {}) };
    const out: DicomWebInstance[] = [];
    for (let offset = 0; ; offset += limit) {
      const params = new URLSearchParams({ ...q, includefield: '00080016,00080060,0020000D,0020000E', limit: String(limit), offset: String(offset) });
      const r = await this.request('QIDO-RS search', `${path}?${params}`, { accept: 'application/dicom+json' });
      const text = r.status === 204 ? '' : await r.text();
      let rows: DicomJson[];
      try {
        rows = text.trim() ? JSON.parse(text) : [];
      } catch {
        throw new MedclassError('MC_DATA_DICOMWEB_BAD_REPLY', 'QIDO-RS: the reply is not DICOM JSON');
      }
      if (!Array.isArray(rows)) throw new MedclassError('MC_DATA_DICOMWEB_BAD_REPLY', 'QIDO-RS: expected a JSON array');
      for (const d of rows) {
        out.push({ studyInstanceUid: first(d, '0020000D') || (scope.study ?? ''), seriesInstanceUid: first(d, '0020000E') || (scope.series ?? ''), sopInstanceUid: first(d, '00080018'), sopClassUid: first(d, '00080016'), modality: first(d, '00080060') });
      }
      if (rows.length < limit) return out;
    }
  }

  /** WADO-RS: one instance as Part 10 bytes, in the transfer syntax the server holds (`transfer-syntax=*`). */
  async retrieveInstance(i: Pick<DicomWebInstance, 'studyInstanceUid' | 'seriesInstanceUid' | 'sopInstanceUid'>): Promise<Uint8Array> {
    const path = `/studies/${encodeURIComponent(i.studyInstanceUid)}/series/${encodeURIComponent(i.seriesInstanceUid)}/instances/${encodeURIComponent(i.sopInstanceUid)}`;
    const r = await this.request('WADO-RS retrieve', path, { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' });
    const parts = parseMultipart(new Uint8Array(await r.arrayBuffer()), r.headers.get('content-type') ?? '');
    const dicom = parts.filter((p) => (p.headers['content-type'] ?? 'application/dicom').toLowerCase().startsWith('application/dicom'));
    if (dicom.length !== 1) throw new MedclassError('MC_DATA_DICOMWEB_BAD_REPLY', `WADO-RS: expected one application/dicom part, got ${dicom.length} of ${parts.length} part(s)`);
    return dicom[0]!.body;
  }

  /** STOW-RS: stores Part 10 instances (one request), optionally into one study; returns what the server stored and refused. */
  async store(instances: readonly Uint8Array[], study?: string): Promise<StowResult> {
    const { body, contentType } = buildMultipart(instances);
    const r = await this.request('STOW-RS store', study ? `/studies/${encodeURIComponent(study)}` : '/studies', { method: 'POST', accept: 'application/dicom+json', body, contentType });
    const text = r.status === 204 ? '' : await r.text();
    let d: DicomJson;
    try {
      d = text.trim() ? JSON.parse(text) : {};
    } catch {
      throw new MedclassError('MC_DATA_DICOMWEB_BAD_REPLY', 'STOW-RS: the reply is not DICOM JSON');
    }
    const items = (tag: string) => ((d[tag]?.Value ?? []) as DicomJson[]);
    return {
      stored: items('00081199').map((x) => first(x, '00081155')),
      failed: items('00081198').map((x) => ({ sopInstanceUid: first(x, '00081155'), reason: Number(first(x, '00081197')) || null })),
    };
  }
}
