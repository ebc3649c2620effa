import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';
import { parseKeyring } from './secrets.js';

describe('config', () => {
  it('has working defaults for development', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ PORT: 9900, HOST: '127.0.0.1', MIGRATE_ON_START: true, isProduction: false });
    expect(c.publicUrl).toBe('http://localhost:9900');
  });

  it('fails at boot on bad values', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
    expect(() => loadConfig({ MIGRATE_ON_START: 'maybe' })).toThrow(/MIGRATE_ON_START/);
  });

  it('takes hosted-page frame ancestors as CSP sources only, and remote logos off by default', () => {
    expect(loadConfig({}).LINK_ALLOW_REMOTE_LOGOS).toBe(false);
    expect(loadConfig({ LINK_ALLOW_REMOTE_LOGOS: 'true' }).LINK_ALLOW_REMOTE_LOGOS).toBe(true);
    expect(loadConfig({ LINK_FRAME_ANCESTORS: "https://app.example.com, https://*.example.org 'self' http://localhost:3000" }).LINK_FRAME_ANCESTORS).toBeDefined();
    // Nothing that could close the directive and add another.
    expect(() => loadConfig({ LINK_FRAME_ANCESTORS: "https://a.example; script-src 'unsafe-inline'" })).toThrow(/LINK_FRAME_ANCESTORS/);
    expect(() => loadConfig({ LINK_FRAME_ANCESTORS: 'https://a.example/path' })).toThrow(/LINK_FRAME_ANCESTORS/);
  });

  it('keeps audit records a year, and metrics and tracing off, unless told; refuses bad values', () => {
    expect(loadConfig({})).toMatchObject({ AUDIT_RETENTION_DAYS: 365, AUDIT_FLUSH_MS: 1000, METRICS_ENABLED: false });
    expect(loadConfig({}).OTEL_EXPORTER_OTLP_TRACES_ENDPOINT).toBeUndefined();
    expect(() => loadConfig({ AUDIT_RETENTION_DAYS: '0' })).toThrow(/AUDIT_RETENTION_DAYS/);
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'grpc://collector:4317' })).toThrow(/OTEL_EXPORTER_OTLP_TRACES_ENDPOINT/);
  });

  it('requires secrets and a database in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/LATCHKEY_HMAC_SECRET.*\n.*LATCHKEY_ENCRYPTION_KEYS.*\n.*DATABASE_URL/s);
  });

  it('parses a keyring whose first key is active and refuses malformed ones', () => {
    const k1 = Buffer.alloc(32, 1).toString('base64');
    const k0 = Buffer.alloc(32, 2).toString('hex');
    const { keys, activeKeyId } = parseKeyring(`k1:${k1},k0:${k0}`);
    expect(activeKeyId).toBe('k1');
    expect(keys.get('k0')).toEqual(Buffer.alloc(32, 2));
    expect(() => parseKeyring('nokey')).toThrow(ConfigError);
    expect(() => parseKeyring(`k1:${Buffer.alloc(16).toString('base64')}`)).toThrow(/32 bytes/);
    expect(() => parseKeyring(`k1:${k1},k1:${k1}`)).toThrow(/twice/);
  });
});
