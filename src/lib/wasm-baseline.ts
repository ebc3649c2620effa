/**
 * Imported first by the server, before anything can compile WebAssembly: V8 compiles WebAssembly
 * with its baseline compiler (Liftoff) only, never tiering hot functions up to its optimising one.
 *
 * Why: the one WebAssembly module Latchkey runs is Prisma's query compiler, loaded on the first
 * Prisma query. Tiering it up cost about 20 MB of resident memory that stayed for the life of the
 * process (compiled code and the optimiser's freed working memory), and bought no speed: Prisma
 * queries took the same CPU with and without it (bench/README.md, "Measurements behind the changes").
 * Set here rather than as a `node` flag so that `npm start`, the image and `node dist/server.js`
 * alike get it (NODE_OPTIONS does not accept this V8 flag).
 */
import v8 from 'node:v8';

// Flag implications are resolved when V8 starts, so the ones --liftoff-only implies are set too.
for (const flag of ['--liftoff-only', '--no-wasm-tier-up', '--no-wasm-dynamic-tiering']) v8.setFlagsFromString(flag);
