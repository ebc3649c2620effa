/**
 * One memory-reducing garbage collection, run by the server once it is listening.
 *
 * Why: start-up (imports, schemas, routes, Prisma's query compiler) allocates fast enough that V8
 * grows its young generation to the cap (--max-semi-space-size=8: 16 MB), and it stays committed
 * while the server idles. V8's memory reducer later shrinks the young generation but, measured, does
 * not give the pages back: the idle server stayed at its start-up RSS. The collection V8 runs as a
 * last resort before running out of memory does: it shrinks the young generation, compacts, and
 * releases the freed pages (idle RSS about 15 MB lower; one pause of about 0.1 s, once; the young
 * generation grows back under load as it needs to, so CPU per request and peak RSS do not change:
 * bench/README.md, "Measurements behind the changes").
 *
 * How: V8's gc() exists only with --expose-gc. The flag is set just long enough to create one empty
 * context that has it, so the application's own global scope never sees a gc function, and
 * `node dist/server.js` gets this as `npm start` does. Node 22 and 24 both take the options object.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

type Gc = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

/** Runs the collection; false when this Node does not offer it (then nothing is done). Never throws. */
export function releaseStartupMemory(): boolean {
  try {
    v8.setFlagsFromString('--expose-gc');
    let gc: unknown;
    try {
      gc = vm.runInNewContext('gc');
    } finally {
      v8.setFlagsFromString('--no-expose-gc');
    }
    if (typeof gc !== 'function') return false;
    (gc as Gc)({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    return true;
  } catch {
    return false; // a missed saving of memory is no reason to stop a server that has started
  }
}
