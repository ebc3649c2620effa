import { generateKeyPairSync, createVerify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { authorizationHeader, oauthParameters, percentEncode, signatureBaseString } from './oauth1-signature.js';

const photos = { consumerKey: 'dpf43f3p2l4k3l03', consumerSecret: 'kd94hf93k423kf44', signatureMethod: 'HMAC-SHA1' as const };

describe('RFC 5849 §1.2 example (printer.example.com and photos.example.net)', () => {
  it('signs the temporary credentials request', () => {
    const p = oauthParameters({ method: 'POST', url: 'https://photos.example.net/initiate' }, photos, undefined, {
      nonce: 'wIjqoS', timestamp: '137131200', includeVersion: false, extra: { oauth_callback: 'http://printer.example.com/ready' },
    });
    expect(p.oauth_signature).toBe('74KNZJeDHnMBp0EMJ9ZHt/XKycU=');
  });
  it('signs the token request', () => {
    const p = oauthParameters({ method: 'POST', url: 'https://photos.example.net/token' }, photos, { token: 'hh5s93j4hdidpola', tokenSecret: 'hdhd0244k9j7ao03' }, {
      nonce: 'walatlh', timestamp: '137131201', includeVersion: false, extra: { oauth_verifier: 'hfdp7dh39dks9884' },
    });
    expect(p.oauth_signature).toBe('gKgrFCywp7rO0OXSjdot/IHF7IU=');
  });
  it('signs the protected resource request', () => {
    const p = oauthParameters({ method: 'GET', url: 'http://photos.example.net/photos?file=vacation.jpg&size=original' }, photos, { token: 'nnch734d00sl2jdk', tokenSecret: 'pfkkdhi9sl3r4s00' }, {
      nonce: 'chapoH', timestamp: '137131202', includeVersion: false,
    });
    expect(p.oauth_signature).toBe('MdpQcU8iPSUjWoN/UDMsK2sui9I=');
  });
});

describe('RFC 5849 §3.4.1.1 signature base string', () => {
  it('collects query, protocol and form parameters, decoded then encoded and sorted', () => {
    const base = signatureBaseString(
      { method: 'post', url: 'http://EXAMPLE.COM:80/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b', form: new URLSearchParams('c2&a3=2+q') },
      {
        realm: 'Example',
        oauth_consumer_key: '9djdj82h48djs9d2',
        oauth_token: 'kkk9d7dh3k39sjv7',
        oauth_signature_method: 'HMAC-SHA1',
        oauth_timestamp: '137131201',
        oauth_nonce: '7d8f3e4a',
        oauth_signature: 'bYT5CMsGcbgUdFHObYMEfcx6bsw=',
      },
    );
    expect(base).toBe(
      'POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7',
    );
  });

  it('keeps a non-default port and drops the default https one', () => {
    expect(signatureBaseString({ method: 'GET', url: 'https://Api.Example.com:443/a' }, {})).toBe('GET&https%3A%2F%2Fapi.example.com%2Fa&');
    expect(signatureBaseString({ method: 'GET', url: 'http://example.com:8080/a' }, {})).toBe('GET&http%3A%2F%2Fexample.com%3A8080%2Fa&');
  });

  it('percent-encodes every reserved character, RFC 3986 style (encodeURIComponent leaves !*\'() alone)', () => {
    expect(percentEncode("Ladies + Gentlemen, a signed OAuth request!*'()~._-")).toBe('Ladies%20%2B%20Gentlemen%2C%20a%20signed%20OAuth%20request%21%2A%27%28%29~._-');
    expect(percentEncode('☃')).toBe('%E2%98%83');
  });
});

// The signature on Twitter's page was computed for its original URL, /1/statuses/update.json (the
// page later showed /1.1/ but kept the signature); the base string is the one the page shows.
describe("Twitter's documented example (Creating a signature)", () => {
  it('produces the documented signature and header', () => {
    const header = authorizationHeader(
      {
        method: 'POST',
        url: 'https://api.twitter.com/1/statuses/update.json?include_entities=true',
        form: { status: 'Hello Ladies + Gentlemen, a signed OAuth request!' },
      },
      { consumerKey: 'xvz1evFS4wEEPTGEFPHBog', consumerSecret: 'kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw', signatureMethod: 'HMAC-SHA1' },
      { token: '370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb', tokenSecret: 'LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE' },
      { nonce: 'kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg', timestamp: '1318622958' },
    );
    expect(header).toContain('oauth_signature="tnnArxj06cWHq44gCs1OSKk%2FjLY%3D"');
    expect(header).toMatch(/^OAuth oauth_consumer_key="xvz1evFS4wEEPTGEFPHBog", /);
    expect(header).toContain('oauth_version="1.0"');
  });
});

describe('RSA-SHA1 and PLAINTEXT', () => {
  it('RSA-SHA1 signs the base string with the consumer key; the public key verifies it', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const req = { method: 'GET', url: 'https://api.example.com/r?x=1' };
    const p = oauthParameters(req, { consumerKey: 'ck', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), signatureMethod: 'RSA-SHA1' }, undefined, { nonce: 'n', timestamp: '1' });
    const { oauth_signature, ...rest } = p;
    const ok = createVerify('RSA-SHA1').update(signatureBaseString(req, rest)).verify(publicKey, oauth_signature!, 'base64');
    expect(ok).toBe(true);
    const tampered = createVerify('RSA-SHA1').update(signatureBaseString({ ...req, url: 'https://api.example.com/r?x=2' }, rest)).verify(publicKey, oauth_signature!, 'base64');
    expect(tampered).toBe(false);
  });

  it('PLAINTEXT is the encoded secrets joined by & (§3.4.4)', () => {
    const p = oauthParameters({ method: 'GET', url: 'https://x.example/' }, { consumerKey: 'ck', consumerSecret: 'djr9rjt0jd78jf88', signatureMethod: 'PLAINTEXT' }, { token: 't', tokenSecret: 'jjd99$tj88uiths3' });
    expect(p.oauth_signature).toBe('djr9rjt0jd78jf88&jjd99%24tj88uiths3');
    const noToken = oauthParameters({ method: 'GET', url: 'https://x.example/' }, { consumerKey: 'ck', consumerSecret: 'djr9rjt0jd78jf88', signatureMethod: 'PLAINTEXT' });
    expect(noToken.oauth_signature).toBe('djr9rjt0jd78jf88&');
  });

  it('a fresh nonce and the current time by default', () => {
    const a = oauthParameters({ method: 'GET', url: 'https://x.example/' }, photos);
    const b = oauthParameters({ method: 'GET', url: 'https://x.example/' }, photos);
    expect(a.oauth_nonce).not.toBe(b.oauth_nonce);
    expect(Math.abs(Number(a.oauth_timestamp) - Date.now() / 1000)).toBeLessThan(5);
  });
});
