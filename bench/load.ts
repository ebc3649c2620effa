/** The parent's side of the load process: fork it once, send specs one at a time, kill it at the end. */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FromWorker, LoadResult, LoadSpec } from './load-types.js';

export type LoadRunner = { run: (spec: LoadSpec) => Promise<LoadResult>; close: () => void };

export function startLoadRunner(): LoadRunner {
  // Under `tsx`, process.execArgv carries its loader; the child inherits it and can run TypeScript.
  const child: ChildProcess = fork(fileURLToPath(new URL('./load-worker.ts', import.meta.url)), [], {
    execArgv: process.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let next = 0;
  const pending = new Map<number, { resolve: (r: LoadResult) => void; reject: (e: Error) => void }>();
  child.on('message', (msg: FromWorker) => {
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.result) p.resolve(msg.result);
    else p.reject(new Error(`load process: ${msg.error}`));
  });
  child.on('exit', (code) => {
    for (const p of pending.values()) p.reject(new Error(`load process exited (${code})`));
    pending.clear();
  });
  return {
    run: (spec) =>
      new Promise((resolve, reject) => {
        const id = ++next;
        pending.set(id, { resolve, reject });
        child.send({ id, spec }, (err) => {
          if (err) {
            pending.delete(id);
            reject(err);
          }
        });
      }),
    close: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}
