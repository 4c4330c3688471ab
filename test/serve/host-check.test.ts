import { describe, expect, it } from 'vitest';
import { hostName, isAllowedHost } from '../../src/serve/host-check.js';

describe('Host header check (DNS-rebinding guard)', () => {
  it('takes the name part of a Host header: port dropped, IPv6 brackets removed, lower case, trailing dot gone; malformed → undefined', () => {
    const cases: [string, string | undefined][] = [
      ['localhost:8080', 'localhost'], ['LocalHost.', 'localhost'], ['[::1]:3000', '::1'], ['[::1]', '::1'], ['127.0.0.1', '127.0.0.1'],
      ['a b', undefined], ['evil.example:80:80', undefined], ['', undefined], ['[::1', undefined], ['user@host', undefined],
    ];
    for (const [h, name] of cases) expect([h, hostName(h)]).toEqual([h, name]);
  });

  it('allows loopback names, the server\'s own addresses (IPv4-mapped too) and allowedHosts; refuses other names and a missing Host', () => {
    const own = ['::ffff:192.168.1.20', '0.0.0.0'];
    const cases: [string | undefined, string[], boolean][] = [
      ['localhost:1234', [], true], ['127.0.0.1', [], true], ['[::1]:9', [], true],
      ['192.168.1.20:8080', [], true], ['0.0.0.0:8080', [], true],
      ['medclass.lan', ['MedClass.Lan'], true], ['evil.example', ['medclass.lan'], false],
      ['127.0.0.1.nip.io', [], false], ['localhost.evil.example', [], false], [undefined, [], false], ['anything', ['*'], true], [undefined, ['*'], true],
    ];
    for (const [h, allowed, ok] of cases) expect([h, allowed, isAllowedHost(h, allowed, own)]).toEqual([h, allowed, ok]);
  });
});
