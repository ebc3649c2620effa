import { describe, expect, it } from 'vitest';
import { escapeHtml, html, raw } from './html.js';

describe('html templates', () => {
  it('escapes interpolated text, attributes included', () => {
    const name = `<script>alert("x")</script>'&`;
    expect(html`<p title="${name}">${name}</p>`.value).toBe(
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;&amp;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;&amp;</p>',
    );
  });

  it('keeps nested templates and raw markup, joins arrays, drops null, undefined and false', () => {
    const items = ['a<b', 'c'].map((x) => html`<li>${x}</li>`);
    expect(html`<ul>${items}</ul>${null}${undefined}${false}${raw('<hr>')}${0}`.value).toBe('<ul><li>a&lt;b</li><li>c</li></ul><hr>0');
  });

  it('escapeHtml leaves ordinary text alone', () => {
    expect(escapeHtml('plain text 123')).toBe('plain text 123');
  });
});
