/** The small self-contained pages the OAuth callback shows when there is no callback_url. */
const escape = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** No scripts, no external resources: only the inline style below may apply. */
export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export function page(o: { ok: boolean; title: string; message: string }) {
  const colour = o.ok ? '#176f2c' : '#a4262c';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(o.title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:0;display:grid;place-items:center;min-height:100vh;background:#f6f7f9;color:#1d2330}
main{background:#fff;padding:2rem 2.5rem;border-radius:12px;box-shadow:0 2px 12px rgba(0,0,0,.08);max-width:28rem}
h1{font-size:1.25rem;margin:0 0 .5rem;color:${colour}}p{margin:0}</style></head>
<body><main role="main"><h1>${escape(o.title)}</h1><p>${escape(o.message)}</p></main></body></html>`;
}
