/** The pages before sign-in, and the error page every console answer falls back to. */
import { type HtmlValue, html } from '../../../lib/html.js';
import { type Frame, csrfField, page } from './layout.js';

export function signInPage(o: { csrf: string; next?: string; email?: string; error?: string }) {
  return page(
    { title: 'Sign in' },
    html`<div class="signin"><h1>Sign in</h1>
${o.error ? html`<div class="notice bad" role="alert" id="signin-error">${o.error}</div>` : ''}
<form method="post" action="/console/sign-in${o.next ? `?next=${encodeURIComponent(o.next)}` : ''}">${csrfField(o.csrf)}
<div class="field"><label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required value="${o.email ?? ''}"${o.error ? html` aria-describedby="signin-error"` : ''}></div>
<div class="field"><label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required></div>
<button type="submit">Sign in</button></form>
<p class="small muted">No password? Ask for a sign-in link: <code>latchkey console-users link &lt;email&gt;</code>.</p></div>`,
  );
}

export function signInLinkPage(o: { csrf: string; action: string }) {
  return page(
    { title: 'Sign in' },
    html`<div class="signin"><h1>Sign in to the Latchkey console</h1><p>This link signs you in once. It stops working after you use it.</p>
<form method="post" action="${o.action}">${csrfField(o.csrf)}<button type="submit">Sign in</button></form></div>`,
  );
}

export function messagePage(frame: Frame, o: { title: string; message: HtmlValue; back?: string }) {
  return page(frame, html`<h1>${o.title}</h1><div class="card"><p>${o.message}</p>${o.back ? html`<p><a href="${o.back}">Go back</a></p>` : ''}</div>`);
}
