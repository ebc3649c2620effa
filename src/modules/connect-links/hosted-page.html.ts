/**
 * The hosted Connect Link page: self-contained HTML (no scripts, no external CSS or fonts; only the
 * toolkit's and the project's logos load from their own URLs). Works without JavaScript.
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

function header(m: PageModel) {
  const logos = [m.brandLogoUrl ? `<img src="${esc(m.brandLogoUrl)}" alt="${esc(m.projectName)}">` : '', `<img src="${esc(m.toolkitLogo)}" alt="${esc(m.toolkitName)}">`].join('');
  return `<div class="logos">${logos}</div><h1>Connect ${esc(m.toolkitName)}</h1><p class="sub">${esc(m.projectName)} asks to connect your ${esc(m.toolkitName)} account.</p>`;
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
export function formPage(m: PageModel, o: { csrf: string; action: string; values?: Record<string, string>; errors?: Record<string, string> }) {
  const fields = m.fields.map((f) => field(f, o.values?.[f.name], o.errors?.[f.name])).join('\n');
  const button = m.mode === 'OAUTH2' ? `Continue to ${esc(m.toolkitName)}` : 'Connect';
  const note =
    m.mode === 'OAUTH2'
      ? `You will sign in on ${esc(m.toolkitName)}'s own site.`
      : `What you type here is stored encrypted by this connection service; ${esc(m.projectName)} never sees it.`;
  return layout(
    `Connect ${m.toolkitName}`,
    m.accent,
    `${header(m)}<form method="post" action="${esc(o.action)}" novalidate>
<input type="hidden" name="csrf" value="${esc(o.csrf)}">
${fields}
<button type="submit">${button}</button></form><p class="note">${note}</p>`,
  );
}

export function resultPage(o: { ok: boolean; title: string; message: string; accent?: string }) {
  return layout(o.title, o.accent ?? '#3558e6', `<div class="${o.ok ? 'ok' : 'fail'}" role="status"><h1>${esc(o.title)}</h1><p>${esc(o.message)}</p></div>`);
}
