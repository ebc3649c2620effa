/**
 * The hosted Connect Link page: self-contained HTML (no scripts, no external CSS, fonts or images).
 * Logos are drawn as a letter on a colour unless the operator allows remote logos, so by default
 * the page makes no request to anyone but Latchkey. Works without JavaScript.
 */
import type { ToolkitField } from '../toolkits/toolkit-definition.js';
import type { PageModel } from './connect-links.service.js';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const safeAccent = (c: string) => (/^#[0-9a-fA-F]{6}$/.test(c) ? c : '#3558e6');

function layout(title: string, accent: string, body: string) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${esc(title)}</title>
<style>
:root{--accent:${safeAccent(accent)}}
*{box-sizing:border-box}body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f4f5f7;color:#1b1f29;min-height:100vh;display:grid;place-items:center;padding:1rem}
main{background:#fff;width:100%;max-width:26rem;padding:2rem;border-radius:14px;box-shadow:0 4px 24px rgba(20,24,40,.08)}
.logos{display:flex;align-items:center;gap:.75rem;margin-bottom:1rem}.logos img{width:40px;height:40px;object-fit:contain;border-radius:8px}
.mark{width:40px;height:40px;border-radius:8px;display:grid;place-items:center;color:#fff;font:700 1.2rem/1 system-ui,sans-serif}
.hint{font-size:.9rem;margin:1rem 0 0}a{color:var(--accent)}a:focus-visible,button:focus-visible{outline:3px solid color-mix(in srgb,var(--accent) 45%,transparent);outline-offset:2px}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
h1{font-size:1.25rem;margin:0 0 .25rem}p.sub{margin:0 0 1.25rem;color:#555d70}
label{display:block;font-weight:600;margin:.9rem 0 .25rem}.req{color:#b3261e}
.desc{font-size:.85rem;color:#5b6275;margin:.1rem 0 .35rem}
input{width:100%;padding:.6rem .7rem;border:1px solid #c6cbd6;border-radius:8px;font:inherit}
input:focus{outline:3px solid color-mix(in srgb,var(--accent) 35%,transparent);border-color:var(--accent)}
input[aria-invalid=true]{border-color:#b3261e}.err{color:#b3261e;font-size:.85rem;margin:.3rem 0 0}
button{margin-top:1.4rem;width:100%;padding:.75rem;border:0;border-radius:8px;background:var(--accent);color:#fff;font:600 1rem system-ui,sans-serif;cursor:pointer}
.note{font-size:.8rem;color:#6b7285;margin-top:1rem;text-align:center}
.ok h1{color:#176f2c}.fail h1{color:#a4262c}
</style></head><body><main>${body}</main></body></html>`;
}

/** The first letter of a name, for its mark. */
const initial = (name: string) => (Array.from(name.trim())[0] ?? '?').toUpperCase();
/** A stable colour per name, dark enough for white text (hue from a small string hash). */
function markColour(name: string) {
  let h = 0;
  for (const c of name) h = (h * 31 + c.codePointAt(0)!) % 360;
  return `hsl(${h} 45% 38%)`;
}

/** A logo: the image itself when remote logos are allowed, otherwise its letter. Decorative: the heading names both. */
function mark(name: string, logoUrl: string | null, remote: boolean, colour: string) {
  if (remote && logoUrl) return `<img src="${esc(logoUrl)}" alt="">`;
  return `<span class="mark" style="background:${colour}" aria-hidden="true">${esc(initial(name))}</span>`;
}

/** Who asks, in a sentence: the operator's product name, or a neutral wording without one. */
const asker = (m: PageModel) => (m.productName ? esc(m.productName) : 'The app that sent you here');

function header(m: PageModel, remoteLogos: boolean) {
  const brand = m.productName ? mark(m.productName, m.brandLogoUrl, remoteLogos, safeAccent(m.accent)) : '';
  const logos = `${brand}${mark(m.toolkitName, m.toolkitLogo, remoteLogos, markColour(m.toolkitName))}`;
  return `<div class="logos">${logos}</div><h1>Connect ${esc(m.toolkitName)}</h1><p class="sub">${asker(m)} asks to connect your ${esc(m.toolkitName)} account.</p>`;
}

/** The remote images formPage shows for this model (their origins go in the page's img-src). */
export function remoteLogos(m: PageModel): string[] {
  return [m.productName ? m.brandLogoUrl : null, m.toolkitLogo].filter((u): u is string => !!u);
}

function field(f: ToolkitField, value: string | undefined, error: string | undefined) {
  const id = `f_${f.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const describedBy = [`${id}_d`, error ? `${id}_e` : ''].filter(Boolean).join(' ');
  return `<label for="${id}">${esc(f.displayName)}${f.required ? ' <span class="req" aria-hidden="true">*</span>' : ''}</label>
<p class="desc" id="${id}_d">${esc(f.description)}</p>
<input id="${id}" name="${esc(f.name)}" type="${f.is_secret ? 'password' : f.type === 'url' ? 'url' : 'text'}" autocomplete="off" spellcheck="false"${
    f.required ? ' required aria-required="true"' : ''
  }${error ? ' aria-invalid="true"' : ''} aria-describedby="${describedBy}"${!f.is_secret && value ? ` value="${esc(value)}"` : ''}>
${error ? `<p class="err" id="${id}_e" role="alert">${esc(error)}</p>` : ''}`;
}

/** The form. Secret values are never written back into the page. */
export function formPage(m: PageModel, o: { csrf: string; action: string; remoteLogos: boolean; values?: Record<string, string>; errors?: Record<string, string> }) {
  const fields = m.fields.map((f) => field(f, o.values?.[f.name], o.errors?.[f.name])).join('\n');
  const button = m.mode === 'OAUTH2' ? `Continue to ${esc(m.toolkitName)}` : 'Connect';
  const who = m.productName ? esc(m.productName) : 'the app';
  const where = m.authorizeOrigin ? `, at ${esc(new URL(m.authorizeOrigin).host)}` : '';
  const note =
    m.mode === 'OAUTH2'
      ? `You will sign in on ${esc(m.toolkitName)}'s own site${where}.`
      : `What you type here is stored encrypted by this connection service; ${who} never sees it.`;
  const hint =
    m.mode === 'FIELDS' && m.authHintUrl
      ? `<p class="hint"><a href="${esc(m.authHintUrl)}" target="_blank" rel="noopener noreferrer">Where do I find my key?<span class="sr"> (opens ${esc(m.toolkitName)} in a new tab)</span></a></p>`
      : '';
  return layout(
    `Connect ${m.toolkitName}`,
    m.accent,
    `${header(m, o.remoteLogos)}<form method="post" action="${esc(o.action)}" novalidate>
<input type="hidden" name="csrf" value="${esc(o.csrf)}">
${fields}${hint}
<button type="submit">${button}</button></form><p class="note">${note}</p>`,
  );
}

/** A page with a title and a message: success, a link that cannot be used, or an error. */
export function resultPage(o: { ok: boolean; title: string; message: string; accent?: string }) {
  return layout(o.title, o.accent ?? '#3558e6', `<div class="${o.ok ? 'ok' : 'fail'}" role="status"><h1>${esc(o.title)}</h1><p>${esc(o.message)}</p></div>`);
}
