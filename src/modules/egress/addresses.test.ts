import { describe, expect, it } from 'vitest';
import { type AddressKind, type EgressPolicy, addressKind, hostKind, urlProblem } from './addresses.js';

const STRICT: EgressPolicy = { allowPrivate: false, allowLoopback: false };
const LOOPBACK_ONLY: EgressPolicy = { allowPrivate: false, allowLoopback: true };
const OPEN: EgressPolicy = { allowPrivate: true, allowLoopback: false };

const kinds = (ips: string[]) => Object.fromEntries(ips.map((ip) => [ip, addressKind(ip)]));
const all = (ips: string[], kind: AddressKind) => Object.fromEntries(ips.map((ip) => [ip, kind]));

describe('address classification', () => {
  it('loopback, IPv4 and IPv6, and IPv4 loopback inside IPv6 on this host', () => {
    const ips = ['127.0.0.1', '127.255.255.254', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::127.0.0.1', '::7f00:1', '::ffff:0:7f00:1'];
    expect(kinds(ips)).toEqual(all(ips, 'loopback'));
  });

  it('private, CGNAT, link-local, metadata, multicast, reserved, benchmark, documentation and unspecified', () => {
    const ips = [
      '10.0.0.1', '10.255.255.255', '172.16.0.1', '172.31.255.255', '192.168.0.1', // RFC 1918
      '100.64.0.1', '100.127.255.254', '100.100.100.200', // CGNAT, Alibaba metadata
      '169.254.0.1', '169.254.169.254', // link-local, AWS/GCP/Azure metadata
      '0.0.0.0', '0.1.2.3', // unspecified, "this network"
      '224.0.0.1', '239.255.255.250', '240.0.0.1', '255.255.255.255', // multicast, reserved, broadcast
      '198.18.0.1', '198.19.255.255', // benchmarking
      '192.0.0.8', '192.0.2.1', '198.51.100.7', '203.0.113.9', '192.88.99.1', // IETF, TEST-NETs, 6to4 relay
      '::', 'fd00::1', 'fc00::1', 'fd00:ec2::254', 'fe80::1', 'fe80::1%eth0', 'fec0::1', 'ff02::1', // IPv6 internal kinds
      '2001:db8::1', '3fff::1', '100::1', '2001::1', '2001:2::1', '64:ff9b:1::a00:1', // documentation, discard, IETF, local NAT64
      '::ffff:10.0.0.1', '::ffff:a00:1', '::ffff:c0a8:101', '::ffff:a9fe:a9fe', '::10.0.0.1', // IPv4 inside IPv6
      '64:ff9b::7f00:1', '64:ff9b::10.0.0.1', '64:ff9b::a9fe:a9fe', // NAT64 to internal IPv4 (loopback too)
      '2002:7f00:1::', '2002:a00:1::1', '2002:a9fe:a9fe::', // 6to4 of internal IPv4
      'not-an-ip', '', '1.2.3', '::ffff:999.0.0.1', // not an address: refused
    ];
    expect(kinds(ips)).toEqual(all(ips, 'internal'));
  });

  it('public addresses, including ones next to the internal ranges', () => {
    const ips = [
      '93.184.215.14', '8.8.8.8', '1.1.1.1', '172.15.255.255', '172.32.0.1', '100.63.255.255', '100.128.0.1',
      '169.253.255.255', '169.255.0.1', '192.167.255.255', '198.20.0.1', '223.255.255.255', '11.0.0.1',
      '2606:4700::1111', '2a00:1450:4001::200e', '2001:4860:4860::8888', '::ffff:808:808', '::ffff:8.8.8.8',
      '64:ff9b::808:808', '2002:808:808::1', '2001:200::1',
    ];
    expect(kinds(ips)).toEqual(all(ips, 'public'));
  });

  it('host names: IP literals by value, localhost and *.localhost as loopback, *.internal as internal, trailing dots ignored', () => {
    expect(hostKind('LOCALHOST.')).toBe('loopback');
    expect(hostKind('api.localhost')).toBe('loopback');
    expect(hostKind('[::1]')).toBe('loopback');
    expect(hostKind('metadata.google.internal.')).toBe('internal');
    expect(hostKind('10.1.2.3')).toBe('internal');
    expect(hostKind('example.com')).toBeUndefined();
    expect(hostKind('localhost.example.com')).toBeUndefined();
    expect(hostKind('notlocalhost')).toBeUndefined();
  });
});

describe('URL check (as written, before any resolution)', () => {
  // Every notation of an internal host; the WHATWG parser normalises most IPv4 spellings, and each is checked anyway.
  const LOOPBACK_URLS = [
    'https://127.0.0.1/token',
    'https://127.0.0.1:8443/token',
    'http://2130706433/', // decimal
    'http://0177.0.0.1/', // octal
    'http://017700000001/', // octal, one number
    'http://0x7f.1/', // hex, short
    'http://0x7f000001/', // hex, one number
    'http://127.1/', // short form
    'http://127.0.0.1./', // trailing dot
    'http://[::1]/',
    'https://[0:0:0:0:0:0:0:1]/',
    'http://[::ffff:127.0.0.1]/', // IPv4-mapped
    'http://[::ffff:7f00:1]:8080/x', // IPv4-mapped, hex
    'http://[::127.0.0.1]/', // IPv4-compatible
    'http://localhost/',
    'http://LOCALHOST./x',
    'https://api.localhost/token',
    'https://api.localhost./token',
  ];
  const INTERNAL_URLS = [
    'https://169.254.169.254/latest/meta-data',
    'http://2852039166/', // 169.254.169.254 in decimal
    'http://0xa9.0xfe.0xa9.0xfe/',
    'https://10.0.0.1/token',
    'http://10.1/', // short form of 10.0.0.1
    'http://012.0.0.1/', // octal 10
    'https://172.16.5.4/',
    'https://192.168.1.20/',
    'https://100.64.0.1/',
    'http://0/', // 0.0.0.0
    'http://0.0.0.0/',
    'https://[fd00::1]/',
    'https://[fd00:ec2::254]/',
    'https://[fe80::1]/',
    'https://[ff02::1]/',
    'https://[::]/',
    'https://[::ffff:10.0.0.1]/',
    'https://[::ffff:a9fe:a9fe]/',
    'https://[64:ff9b::a9fe:a9fe]/', // NAT64
    'https://[64:ff9b::7f00:1]/', // NAT64 of loopback: someone else's loopback
    'https://[2002:a9fe:a9fe::1]/', // 6to4
    'https://224.0.0.1/',
    'https://198.18.0.1/',
    'https://metadata.google.internal/computeMetadata/v1/',
    'https://metadata.google.internal./',
  ];
  const PUBLIC_URLS = ['https://oauth.example.com/token', 'https://93.184.215.14/token', 'https://[2606:4700::1111]/', 'http://hooks.example.com:8080/x'];

  const problems = (urls: string[], policy: EgressPolicy) => Object.fromEntries(urls.map((u) => [u, urlProblem(u, policy)]));
  const each = (urls: string[], v: unknown) => Object.fromEntries(urls.map((u) => [u, v]));

  it('refuses loopback and internal hosts in every notation by default', () => {
    expect(problems(LOOPBACK_URLS, STRICT)).toEqual(each(LOOPBACK_URLS, 'must not point at this machine (loopback)'));
    expect(problems(INTERNAL_URLS, STRICT)).toEqual(each(INTERNAL_URLS, 'must not point at a private or internal address'));
  });

  it('accepts public hosts', () => {
    expect(problems(PUBLIC_URLS, STRICT)).toEqual(each(PUBLIC_URLS, undefined));
  });

  it('loopback alone when loopback is allowed (OAUTH_ALLOW_INSECURE_LOOPBACK); everything when private addresses are', () => {
    expect(problems(LOOPBACK_URLS, LOOPBACK_ONLY)).toEqual(each(LOOPBACK_URLS, undefined));
    expect(problems(INTERNAL_URLS, LOOPBACK_ONLY)).toEqual(each(INTERNAL_URLS, 'must not point at a private or internal address'));
    expect(problems([...LOOPBACK_URLS, ...INTERNAL_URLS], OPEN)).toEqual(each([...LOOPBACK_URLS, ...INTERNAL_URLS], undefined));
  });

  it('refuses what is not an http(s) URL, and credentials in the URL, whatever the policy', () => {
    for (const policy of [STRICT, OPEN]) {
      expect(urlProblem('ftp://example.com/x', policy)).toBe('must be http(s)');
      expect(urlProblem('file:///etc/passwd', policy)).toBe('must be http(s)');
      expect(urlProblem('not a url', policy)).toBe('is not a URL');
      expect(urlProblem('https://user:pw@example.com/token', policy)).toBe('must not carry credentials');
    }
  });

  it('judges the literal part of a templated host and leaves the rest to the dial-time check', () => {
    for (const u of ['https://{{subdomain}}.example.com/oauth/token', 'https://{{ shop }}.myshopify.com/admin/oauth/access_token', 'https://{{host}}/token', 'https://8.8.8.{{n}}/x']) {
      expect({ u, problem: urlProblem(u, STRICT) }).toEqual({ u, problem: undefined });
    }
    expect(urlProblem('https://{{tenant}}.localhost/token', STRICT)).toMatch(/this machine/);
    expect(urlProblem('https://{{tenant}}.metadata.google.internal/', STRICT)).toMatch(/internal/);
    expect(urlProblem('https://10.0.0.{{n}}/token', STRICT)).toMatch(/internal/);
    expect(urlProblem('https://127.0.{{a}}.{{b}}:8443/token', STRICT)).toMatch(/this machine/);
    expect(urlProblem('https://[fd00::{{n}}]/token', STRICT)).toMatch(/internal/);
    expect(urlProblem('ftp://{{subdomain}}.example.com/', STRICT)).toBe('must be http(s)');
    expect(urlProblem('https://10.0.0.{{n}}/token', OPEN)).toBeUndefined();
  });
});
