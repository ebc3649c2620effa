// `prisma generate` without the native schema engine: every Prisma CLI command first makes sure
// that binary exists (and would download it); generation itself does not use it, so point the
// check at an existing file. The generated client runs on the pg driver adapter.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { URL, fileURLToPath } from 'node:url';

const env = { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? fileURLToPath(import.meta.url), PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' };
const r = spawnSync(process.execPath, ['node_modules/prisma/build/index.js', 'generate'], { stdio: 'inherit', env });
if (r.status !== 0) process.exit(r.status ?? 1);

// The generated client imports Prisma's query compiler (WebAssembly) as an ES module whose only
// content is one base64 string. An imported module lives as long as the process: its 2.3 MB source
// and the 2.3 MB string it exports stayed in the heap after the WebAssembly was compiled (4.4 MB of
// resident memory at idle, bench/README.md). Read the same file as text instead, so both are garbage
// once the first query has compiled it. A layout this does not recognise falls back to the import.
const classFile = new URL('../src/generated/prisma/internal/class.ts', import.meta.url);
const IMPORT = /const \{ wasm \} = await import\(("[^"]+\.wasm-base64\.mjs")\)/;
const READER = `
// Added by scripts/prisma-generate.mjs (Latchkey): read the base64 module as text, not as a module,
// so that neither its source nor its string outlives the compiled WebAssembly.
async function readWasmBase64(specifier: string): Promise<string> {
  const { readFile } = await import('node:fs/promises')
  const { createRequire } = await import('node:module')
  const text = await readFile(createRequire(import.meta.url).resolve(specifier), 'utf8')
  const m = /^const wasm = "([A-Za-z0-9+/=]+)";?\\s*export \\{ wasm \\};?\\s*$/.exec(text)
  return m ? m[1]! : ((await import(specifier)) as { wasm: string }).wasm
}
`;
let src = readFileSync(classFile, 'utf8');
if (IMPORT.test(src)) {
  src = src.replace(IMPORT, 'const wasm = await readWasmBase64($1)').replace(/\nasync function decodeBase64AsWasm/, `${READER}\nasync function decodeBase64AsWasm`);
  writeFileSync(classFile, src);
} else if (!src.includes('readWasmBase64(')) {
  process.stderr.write('prisma-generate: the generated client no longer imports a .wasm-base64.mjs module; left as generated (see scripts/prisma-generate.mjs)\n');
}
