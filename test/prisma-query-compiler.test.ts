/**
 * How the generated Prisma client loads its query compiler (WebAssembly). scripts/prisma-generate.mjs
 * makes it read the base64 module as text rather than import it, so that the module's source and its
 * string do not stay in the heap for the life of the process (bench/README.md, "Idle memory"). When a
 * Prisma upgrade changes the generated code or the module's layout, the client still works (it falls
 * back to the import), and these tests say the memory saving is gone.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const classFile = path.resolve(import.meta.dirname, '../src/generated/prisma/internal/class.ts');
const generated = readFileSync(classFile, 'utf8');

describe('the query compiler is read as text, not imported as a module', () => {
  it('the generated client reads the base64 module through readWasmBase64', () => {
    expect(generated).toMatch(/const wasm = await readWasmBase64\("[^"]+\.wasm-base64\.mjs"\)/);
    expect(generated).not.toMatch(/await import\("[^"]+\.wasm-base64\.mjs"\)/);
  });

  it('the base64 module has the layout readWasmBase64 parses, and holds a valid WebAssembly module', () => {
    const specifier = /readWasmBase64\(("[^"]+")\)/.exec(generated)![1]!;
    const text = readFileSync(createRequire(classFile).resolve(JSON.parse(specifier) as string), 'utf8');
    const m = /^const wasm = "([A-Za-z0-9+/=]+)";?\s*export \{ wasm \};?\s*$/.exec(text);
    expect(m).not.toBeNull();
    // (The tests' TypeScript settings do not declare the WebAssembly global.)
    const wasm = (globalThis as unknown as { WebAssembly: { validate: (b: Uint8Array) => boolean } }).WebAssembly;
    expect(wasm.validate(Buffer.from(m![1]!, 'base64'))).toBe(true);
  });
});
