/**
 * A setting's default lives in the config schema only: a configuration given in part (tests,
 * benchmarks) is completed from the schema, and a loaded one passes through unchanged.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig, withDefaults } from '../src/lib/config.js';

describe('withDefaults', () => {
  it('fills unset settings with the values loadConfig gives an empty environment', () => {
    const loaded = loadConfig({});
    const partial = withDefaults({ publicUrl: 'http://127.0.0.1' });
    expect(partial.OAUTH_TIMEOUT_SECONDS).toBe(loaded.OAUTH_TIMEOUT_SECONDS);
    expect(partial.PROXY_MAX_REQUEST_BYTES).toBe(loaded.PROXY_MAX_REQUEST_BYTES);
    expect(partial.CONSOLE_SESSION_IDLE_MINUTES).toBe(loaded.CONSOLE_SESSION_IDLE_MINUTES);
    expect(partial.WEBHOOKS_ALLOW_PRIVATE_URLS).toBe(false);
    expect(partial.managedAuth.size).toBe(0);
  });

  it('keeps what was given, falsy values included, and treats undefined as unset', () => {
    const c = withDefaults({ publicUrl: 'http://x', API_KEY_CACHE_MS: 0, MIGRATE_ON_START: false, WEBHOOK_TIMEOUT_MS: undefined });
    expect(c.API_KEY_CACHE_MS).toBe(0);
    expect(c.MIGRATE_ON_START).toBe(false);
    expect(c.WEBHOOK_TIMEOUT_MS).toBe(loadConfig({}).WEBHOOK_TIMEOUT_MS);
  });

  it('leaves a loaded configuration as it was', () => {
    const loaded = loadConfig({ PORT: '9901', PROXY_TIMEOUT_MS: '4000', LATCHKEY_MANAGED_GITHUB_CLIENT_ID: 'id', LATCHKEY_MANAGED_GITHUB_CLIENT_SECRET: 's' });
    expect(withDefaults(loaded)).toEqual(loaded);
  });
});
