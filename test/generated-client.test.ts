/**
 * A client generated from the committed openapi/openapi.json (openapi-typescript types + openapi-fetch)
 * compiles under tsc and makes a real call to the running server.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import openapiTS, { astToString } from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestContext, createTestContext } from './support/context.js';

const root = path.resolve(import.meta.dirname, '..');
const dir = path.join(root, 'test-artifacts', 'generated-client');
let ctx: TestContext;
let baseUrl: string;

beforeAll(async () => {
  ctx = await createTestContext();
  await ctx.app.listen({ host: '127.0.0.1', port: 0 });
  const addr = ctx.app.server.address() as { port: number };
  baseUrl = `http://127.0.0.1:${addr.port}`;
});
afterAll(() => ctx.close());

const CLIENT = `import createClient from 'openapi-fetch';
import type { paths } from './schema.js';

export async function toolkitName(baseUrl: string, apiKey: string, slug: string): Promise<string> {
  const client = createClient<paths>({ baseUrl });
  const { data, error } = await client.GET('/api/v3.1/toolkits/{slug}', {
    params: { path: { slug } },
    headers: { 'x-api-key': apiKey },
  });
  if (error || !data) throw new Error('call failed');
  // Typed by the generated schema: a wrong field name here would not compile.
  return data.name + ' / ' + data.auth_config_details.map((d) => d.mode).join(',');
}
`;

describe('generated client', () => {
  it('compiles from openapi/openapi.json and makes a real call', async () => {
    mkdirSync(dir, { recursive: true });
    const doc = JSON.parse(readFileSync(path.join(root, 'openapi/openapi.json'), 'utf8'));
    writeFileSync(path.join(dir, 'schema.ts'), astToString(await openapiTS(doc)));
    writeFileSync(path.join(dir, 'client.ts'), CLIENT);
    writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2023', skipLibCheck: true, types: [] }, files: ['client.ts'] }),
    );
    // Throws (with the compiler's output) if the generated client does not type-check.
    execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', dir], { stdio: 'pipe' });

    const { toolkitName } = (await import(path.join(dir, 'client.ts'))) as { toolkitName: (b: string, k: string, s: string) => Promise<string> };
    expect(await toolkitName(baseUrl, ctx.apiKey, 'linear')).toBe('Linear / OAUTH2,API_KEY');
    await expect(toolkitName(baseUrl, 'ak_wrongwrongwrongwrongwrong', 'linear')).rejects.toThrow('call failed');
  });
});
