/**
 * The console's stylesheet and script, served from /console/assets/ (same origin, so the CSP can
 * forbid inline styles and scripts). The script only enhances: every page works without it.
 */
export const CONSOLE_CSS = `
*{box-sizing:border-box}
:root{--accent:#3558e6;--ink:#1b1f29;--muted:#5b6275;--line:#dde1ea;--bg:#f4f5f7;--ok:#176f2c;--bad:#a4262c;--warn:#8a5a00}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--ink);background:var(--bg)}
a{color:var(--accent)}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,summary:focus-visible{outline:3px solid #8ea2f0;outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5rem 1rem;z-index:2}.skip:focus{left:.5rem}
header.top{background:#151a2d;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;align-items:center}
header.top .brand{font-weight:700;color:#fff;text-decoration:none;margin-right:.5rem}
header.top nav ul{display:flex;flex-wrap:wrap;gap:.25rem 1rem;list-style:none;margin:0;padding:0}
header.top nav a{color:#d7ddf5;text-decoration:none;padding:.2rem 0;border-bottom:2px solid transparent}
header.top nav a[aria-current=page]{color:#fff;border-bottom-color:#8ea2f0}
header.top .who{margin-left:auto;display:flex;gap:.75rem;align-items:center;font-size:.9rem;color:#d7ddf5}
header.top .who button{background:none;border:1px solid #56608a;color:#fff;border-radius:6px;padding:.2rem .6rem;cursor:pointer;font:inherit}
main{max-width:1200px;margin:0 auto;padding:1.25rem 1rem 3rem}
h1{font-size:1.45rem;margin:.2rem 0 1rem}h2{font-size:1.1rem;margin:1.75rem 0 .6rem}.card h2{margin-top:0}
nav.tabs ul{display:flex;flex-wrap:wrap;gap:.25rem;list-style:none;margin:0 0 1rem;padding:0;border-bottom:1px solid var(--line)}
nav.tabs a{display:block;padding:.45rem .8rem;text-decoration:none;color:var(--muted);border-bottom:2px solid transparent}
nav.tabs a[aria-current=page]{color:var(--ink);border-bottom-color:var(--accent);font-weight:600}
.crumbs{font-size:.9rem;color:var(--muted);margin:0 0 .25rem}
.card{background:#fff;border:1px solid var(--line);border-radius:10px;padding:1rem;margin:0 0 1rem}
.scroll{overflow-x:auto;background:#fff;border:1px solid var(--line);border-radius:10px}
table{border-collapse:collapse;width:100%;min-width:640px}
th,td{text-align:left;padding:.55rem .75rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.8rem;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);background:#fafbfc}
tr:last-child td{border-bottom:0}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.88em;word-break:break-all}
.badge{display:inline-block;padding:.05rem .5rem;border-radius:999px;font-size:.8rem;font-weight:600;background:#e8eaf0;color:#333}
.badge.ACTIVE,.badge.ENABLED,.badge.SUCCEEDED,.badge.ok{background:#ddf3e2;color:var(--ok)}
.badge.FAILED,.badge.EXPIRED,.badge.REVOKED,.badge.DISABLED,.badge.bad,.badge.revoked{background:#fbe1e2;color:var(--bad)}
.badge.INACTIVE,.badge.PENDING,.badge.INITIATED,.badge.INITIALIZING,.badge.warn{background:#fdf0d5;color:var(--warn)}
form.filters{display:flex;flex-wrap:wrap;gap:.75rem;align-items:flex-end;margin:0 0 1rem}
form.filters .field{display:flex;flex-direction:column;min-width:10rem;flex:1 1 10rem}
label{font-weight:600;font-size:.9rem;margin-bottom:.2rem}
input,select{font:inherit;padding:.45rem .6rem;border:1px solid #c6cbd6;border-radius:7px;background:#fff;min-height:2.4rem}
button,.button{font:inherit;font-weight:600;padding:.45rem .9rem;border-radius:7px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer;min-height:2.4rem;text-decoration:none;display:inline-block}
button.secondary,.button.secondary{background:#fff;color:var(--accent)}
button.danger{background:#fff;color:var(--bad);border-color:var(--bad)}
button[aria-busy=true]{opacity:.6;cursor:progress}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;margin:.5rem 0 1rem}.actions form{margin:0}
.inline{display:flex;flex-wrap:wrap;gap:.5rem;align-items:flex-end}.inline .field{display:flex;flex-direction:column}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1.25rem;margin:0}dl.facts dt{color:var(--muted)}dl.facts dd{margin:0}
.notice{border-radius:10px;padding:.8rem 1rem;margin:0 0 1rem;border:1px solid}
.notice.ok{background:#eef9f0;border-color:#b7e2c0}.notice.bad{background:#fdf0f0;border-color:#efc2c4}.notice.info{background:#eef2fd;border-color:#c5d0f6}
.secret{display:flex;gap:.5rem;flex-wrap:wrap;align-items:center}.secret input{flex:1 1 20rem;font-family:ui-monospace,monospace}
.empty{padding:1.5rem;text-align:center;color:var(--muted)}
.pager{display:flex;gap:1rem;align-items:center;justify-content:space-between;flex-wrap:wrap;margin:.75rem 0;font-size:.9rem;color:var(--muted)}
.muted{color:var(--muted)}.small{font-size:.85rem}
.signin{max-width:24rem;margin:8vh auto;background:#fff;border:1px solid var(--line);border-radius:12px;padding:1.75rem}
.signin .field{display:flex;flex-direction:column;margin:0 0 .9rem}.signin button{width:100%}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:1rem}
@media (max-width:640px){main{padding:1rem .6rem 2rem}header.top .who{margin-left:0}h1{font-size:1.25rem}}
`;

export const CONSOLE_JS = `
'use strict';
// Destructive actions ask first; a submitted form shows that it is working; copy buttons copy.
document.addEventListener('submit', function (e) {
  var form = e.target;
  var question = form.getAttribute('data-confirm');
  if (question && !window.confirm(question)) { e.preventDefault(); return; }
  var button = form.querySelector('button[type=submit],button:not([type])');
  if (button) { button.setAttribute('aria-busy', 'true'); button.disabled = true; }
});
document.addEventListener('click', function (e) {
  var button = e.target.closest && e.target.closest('button[data-copy]');
  if (!button) return;
  var input = document.getElementById(button.getAttribute('data-copy'));
  if (!input || !navigator.clipboard) return;
  navigator.clipboard.writeText(input.value).then(function () { button.textContent = 'Copied'; });
});
document.querySelectorAll('button[data-copy]').forEach(function (b) { b.hidden = false; });
`;
