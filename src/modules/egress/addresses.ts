/**
 * Which addresses and URLs Latchkey may call on a project's behalf. Pure functions, no I/O: the
 * save-time check of a URL as written (`urlProblem`) and the classification of an address
 * (`addressKind`) that the dial-time guard (egress.ts) applies to every resolved address.
 *
 * Addresses are judged by value, never by spelling: the WHATWG URL parser already turns
 * `2130706433`, `0177.0.0.1`, `0x7f.1` and `127.1` into `127.0.0.1`, and IPv6 forms that carry an
 * IPv4 address (mapped, compatible, translated, NAT64, 6to4) are judged by the IPv4 inside.
 */
import net from 'node:net';

/** `loopback` is kept apart from the other internal kinds because OAUTH_ALLOW_INSECURE_LOOPBACK allows it alone. */
export type AddressKind = 'public' | 'loopback' | 'internal';

/** What an outgoing call may reach besides public addresses. */
export type EgressPolicy = {
  /** Every internal address: loopback, private, link-local, … (EGRESS_ALLOW_PRIVATE_ADDRESSES). */
  allowPrivate: boolean;
  /** Loopback only (local authorization servers under OAUTH_ALLOW_INSECURE_LOOPBACK). */
  allowLoopback: boolean;
};

export const permits = (policy: EgressPolicy, kind: AddressKind) =>
  kind === 'public' || policy.allowPrivate || (kind === 'loopback' && policy.allowLoopback);

const V4_LOOPBACK: [string, number] = ['127.0.0.0', 8];
const V4_INTERNAL: [string, number][] = [
  ['0.0.0.0', 8], // "this network", including the unspecified 0.0.0.0
  ['10.0.0.0', 8], // RFC 1918
  ['100.64.0.0', 10], // CGNAT (also Alibaba's metadata, 100.100.100.200)
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12], // RFC 1918
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // TEST-NET-1
  ['192.88.99.0', 24], // 6to4 relay anycast (deprecated)
  ['192.168.0.0', 16], // RFC 1918
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and the broadcast address
];

const v4 = (ip: string) => ip.split('.').reduce((n, o) => (n << 8) + Number(o), 0) >>> 0;
const inV4 = (n: number, [base, bits]: [string, number]) => n >>> (32 - bits) === v4(base) >>> (32 - bits);

function v4Kind(n: number): AddressKind {
  if (inV4(n, V4_LOOPBACK)) return 'loopback';
  return V4_INTERNAL.some((r) => inV4(n, r)) ? 'internal' : 'public';
}

/** The eight 16-bit words of a valid IPv6 address (a trailing dotted quad and a zone are allowed). */
function v6Words(ip: string): number[] {
  let a = ip.toLowerCase().replace(/%.*$/, '');
  const quad = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (quad) {
    const n = v4(quad[2]!);
    a = `${quad[1]}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head = '', tail] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  const words = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return words.map((w) => parseInt(w, 16));
}

function v6Kind(ip: string): AddressKind {
  const w = v6Words(ip);
  const zeros = (from: number, to: number) => w.slice(from, to).every((x) => x === 0);
  const embedded = ((w[6]! << 16) | w[7]!) >>> 0;
  if (zeros(0, 7) && w[7]! <= 1) return w[7] === 1 ? 'loopback' : 'internal'; // ::1, ::
  // IPv4 inside IPv6, however it is written (::ffff:127.0.0.1 is also ::ffff:7f00:1): judge the IPv4.
  if (zeros(0, 5) && w[5] === 0xffff) return v4Kind(embedded); // IPv4-mapped, ::ffff:a.b.c.d
  if (zeros(0, 6)) return v4Kind(embedded); // IPv4-compatible (deprecated), ::a.b.c.d
  if (zeros(0, 4) && w[4] === 0xffff && w[5] === 0) return v4Kind(embedded); // IPv4-translated, ::ffff:0:a.b.c.d
  // Through a translator or relay the connection ends at the embedded IPv4; a loopback there is
  // someone else's loopback, so it is internal rather than the loopback OAuth tests may allow.
  const through = (n: number) => (v4Kind(n) === 'public' ? 'public' : 'internal');
  if (w[0] === 0x64 && w[1] === 0xff9b && zeros(2, 6)) return through(embedded); // NAT64, 64:ff9b::/96
  if (w[0] === 0x2002) return through(((w[1]! << 16) | w[2]!) >>> 0); // 6to4, 2002::/16
  if (w[0] === 0x64 && w[1] === 0xff9b && w[2] === 1) return 'internal'; // local-use NAT64, 64:ff9b:1::/48
  if (w[0] === 0x100 && zeros(1, 4)) return 'internal'; // discard-only, 100::/64
  if (w[0] === 0x2001 && w[1]! < 0x200) return 'internal'; // IETF protocol assignments (Teredo, ORCHID…), 2001::/23
  if (w[0] === 0x2001 && w[1] === 0xdb8) return 'internal'; // documentation, 2001:db8::/32
  if (w[0] === 0x3fff && w[1]! < 0x1000) return 'internal'; // documentation, 3fff::/20
  if ((w[0]! & 0xfe00) === 0xfc00) return 'internal'; // unique-local fc00::/7 (AWS metadata fd00:ec2::254)
  if ((w[0]! & 0xffc0) === 0xfe80 || (w[0]! & 0xffc0) === 0xfec0) return 'internal'; // link-local, site-local
  if ((w[0]! & 0xff00) === 0xff00) return 'internal'; // multicast
  return 'public';
}

/** The kind of an IP address. Anything that is not a valid address is `internal` (refused). */
export function addressKind(ip: string): AddressKind {
  const a = ip.replace(/^\[|\]$/g, '');
  if (net.isIPv4(a)) return v4Kind(v4(a));
  if (net.isIPv6(a.replace(/%.*$/, ''))) return v6Kind(a);
  return 'internal';
}

export const isInternalAddress = (ip: string) => addressKind(ip) !== 'public';

/**
 * The kind of a host name as written in a URL: an IP literal by its value, `localhost` and
 * `*.localhost` as loopback, `*.internal` (cloud-private names such as metadata.google.internal)
 * as internal; any other name is `undefined` (only its resolved addresses can tell).
 */
export function hostKind(hostname: string): AddressKind | undefined {
  // A trailing dot is the same name, fully qualified ("localhost." is localhost).
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.+$/, '');
  if (net.isIP(host.replace(/%.*$/, ''))) return addressKind(host);
  if (host === '' || host === 'localhost' || host.endsWith('.localhost')) return 'loopback';
  if (host.endsWith('.internal')) return 'internal';
  return undefined;
}

const TEMPLATE = /\{\{\s*[A-Za-z_][A-Za-z0-9_.-]*\s*\}\}/g;

/**
 * Why a URL may not be called as written, or undefined when it may (its resolved addresses are
 * checked again when it is dialled). `{{field}}` placeholders are allowed: only the scheme and the
 * literal part of the host can be judged before the value is known. The reason starts with a verb,
 * so that callers prefix the field name ("token_url must be http(s)").
 */
export function urlProblem(raw: string, policy: EgressPolicy): string | undefined {
  const templated = TEMPLATE.test(raw);
  TEMPLATE.lastIndex = 0;
  // A placeholder stands for a DNS label here (the URL parser refuses braces in a host), or for a
  // hex group inside an IPv6 literal.
  const u = parse(templated ? raw.replace(TEMPLATE, 'x') : raw) ?? (templated ? parse(raw.replace(TEMPLATE, '0')) : undefined);
  if (!u) return 'is not a URL';
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return 'must be http(s)';
  if (u.username || u.password) return 'must not carry credentials';
  const refused = [hostKind(u.hostname), templated ? templatedIpKind(raw) : undefined].find((k) => k && !permits(policy, k));
  if (refused === 'loopback') return 'must not point at this machine (loopback)';
  if (refused) return 'must not point at a private or internal address';
  return undefined;
}

function parse(raw: string): URL | undefined {
  try {
    return new URL(raw);
  } catch {
    return undefined;
  }
}

/** A host that is an IP address around a placeholder (`10.0.0.{{n}}`, `[fd00::{{n}}]`): the kind of its literal part. */
function templatedIpKind(raw: string): AddressKind | undefined {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(raw)?.[1] ?? '';
  const host = authority.replace(/^.*@/, '').replace(/:\d*$/, '');
  const literal = host.replace(TEMPLATE, '').replace(/^\[|\]$/g, '');
  if (!literal || !/^[0-9a-f.:]+$/i.test(literal)) return undefined;
  try {
    const asIp = new URL(`http://${host.replace(TEMPLATE, '0')}/`).hostname;
    return net.isIP(asIp.replace(/^\[|\]$/g, '')) ? addressKind(asIp) : undefined;
  } catch {
    return undefined;
  }
}
