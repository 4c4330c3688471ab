// The DICOMweb client's multipart/related handling (RFC 2046 §5.1) and its URL checks, without a server.
import { describe, expect, it } from 'vitest';
import { DicomWebClient, buildMultipart, parseMultipart } from '../../src/data/index.js';
import { isMedclassError } from '../../src/errors.js';

const code = (f: () => unknown) => { try { f(); return 'ok'; } catch (e) { return isMedclassError(e) ? e.code : String(e); } };

describe('multipart/related', () => {
  it('round-trips parts whose bytes contain CRLF and dashes', () => {
    const parts = [new Uint8Array([0, 13, 10, 45, 45, 255]), new Uint8Array(Buffer.from('\r\n--not-the-boundary\r\n')), new Uint8Array(0)];
    const { body, contentType } = buildMultipart(parts);
    expect(contentType).toMatch(/^multipart\/related; type="application\/dicom"; boundary=medclass-[0-9a-f]{24}$/);
    const back = parseMultipart(body, contentType);
    expect(back.map((p) => Buffer.from(p.body).toString('hex'))).toEqual(parts.map((p) => Buffer.from(p).toString('hex')));
    expect(back.every((p) => p.headers['content-type'] === 'application/dicom')).toBe(true);
  });

  it('reads a quoted boundary, a preamble and parts without headers, as servers send them', () => {
    const simple = Buffer.from('preamble\r\n--abc\r\n\r\nA\r\n--abc\r\nContent-Type: text/plain\r\n\r\nB\r\n--abc--\r\nepilogue');
    const p2 = parseMultipart(new Uint8Array(simple), 'multipart/related; boundary="abc"; type="application/dicom"');
    expect(p2.map((p) => Buffer.from(p.body).toString())).toEqual(['A', 'B']);
    expect(p2[1]!.headers['content-type']).toBe('text/plain');
  });

  it('refuses a reply without multipart type or boundary, and a part cut short', () => {
    expect(code(() => parseMultipart(new Uint8Array(4), 'application/dicom'))).toBe('MC_DATA_DICOMWEB_BAD_REPLY');
    expect(code(() => parseMultipart(new Uint8Array(4), 'multipart/related'))).toBe('MC_DATA_DICOMWEB_BAD_REPLY');
    expect(code(() => parseMultipart(new Uint8Array(Buffer.from('--abc\r\n\r\nAAAA')), 'multipart/related; boundary=abc'))).toBe('MC_DATA_DICOMWEB_BAD_REPLY');
  });
});

describe('DicomWebClient URL', () => {
  it('refuses credentials in the URL, other schemes and junk', () => {
    expect(code(() => new DicomWebClient({ url: 'https://u:p@pacs.example.org/dicom-web' }))).toBe('MC_DATA_DICOMWEB_AUTH');
    expect(code(() => new DicomWebClient({ url: 'ftp://pacs.example.org/' }))).toBe('MC_DATA_DICOMWEB_HTTP');
    expect(code(() => new DicomWebClient({ url: 'not a url' }))).toBe('MC_DATA_DICOMWEB_HTTP');
    expect(code(() => new DicomWebClient({ url: 'https://pacs.example.org/dicom-web/' }))).toBe('ok');
  });

  it('sends basic auth, never follows redirects, and names no request path in errors', async () => {
    const seen: { url: string; auth: string | null; redirect?: RequestInit['redirect'] }[] = [];
    const fake: typeof fetch = async (input, init) => {
      seen.push({ url: String(input), auth: new Headers(init?.headers).get('authorization'), redirect: init?.redirect });
      return new Response('nope', { status: 500, statusText: 'Internal Server Error' });
    };
    const c = new DicomWebClient({ url: 'https://pacs.example.org/dicom-web', auth: { user: 'u', password: 'secret-pw' }, fetch: fake });
    const err = await c.retrieveInstance({ studyInstanceUid: '1.2.3', seriesInstanceUid: '1.2.3.4', sopInstanceUid: '1.2.3.4.5' }).catch((e: Error) => e);
    expect(seen[0]).toEqual({ url: 'https://pacs.example.org/dicom-web/studies/1.2.3/series/1.2.3.4/instances/1.2.3.4.5', auth: `Basic ${Buffer.from('u:secret-pw').toString('base64')}`, redirect: 'error' });
    expect((err as Error).message).toBe('WADO-RS retrieve at https://pacs.example.org/dicom-web: HTTP 500 Internal Server Error');
    expect((err as Error).message).not.toMatch(/1\.2\.3|secret/);
  });
});
