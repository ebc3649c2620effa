/**
 * HTML built on the server: a tagged template that escapes every interpolated value unless it is
 * already HTML (the result of another `html` template, or `raw()` of a constant the code wrote).
 * Arrays are joined, and null, undefined and false render as nothing, so lists and optional parts
 * read naturally inside a template.
 */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString() {
    return this.value;
  }
}

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** Markup the code itself wrote (never a value from a request or the database). */
export function raw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

function render(v: HtmlValue): string {
  if (v === null || v === undefined || v === false) return '';
  if (Array.isArray(v)) return v.map(render).join('');
  if (v instanceof SafeHtml) return v.value;
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new SafeHtml(out);
}
