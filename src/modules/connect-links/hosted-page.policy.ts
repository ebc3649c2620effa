/**
 * The security headers every /link page carries, built in one place so no page can miss them:
 * one Content-Security-Policy shape (only its img-src and form-action vary, naming exactly what
 * that page may load and where its form may lead) and a frame policy consistent with it.
 */

export type FramePolicy = {
  /** CSP frame-ancestors sources (LINK_FRAME_ANCESTORS); empty means no embedding at all. */
  frameAncestors: string[];
};

export type PageSources = {
  /**
   * Where a submit may lead. CSP checks form-action on the POST and on every redirect after it
   * (paths are ignored on redirects), so this is the page's own URL plus the origins the answer
   * may redirect to: the provider's authorize page, then Latchkey's OAuth callback (the page's own
   * origin) and the app's callback_url. Empty for pages without a form.
   */
  formAction: string[];
  /** Origins of the remote logos the page shows (only with LINK_ALLOW_REMOTE_LOGOS). */
  images: string[];
};

const list = (sources: string[]) => (sources.length ? [...new Set(sources)].join(' ') : "'none'");

export function contentSecurityPolicy(frame: FramePolicy, page: PageSources) {
  return [
    "default-src 'none'",
    "style-src 'unsafe-inline'",
    `img-src ${list(page.images)}`,
    `form-action ${list(page.formAction)}`,
    `frame-ancestors ${list(frame.frameAncestors)}`,
    "base-uri 'none'",
  ].join('; ');
}

/**
 * X-Frame-Options for browsers without frame-ancestors, saying the same thing: DENY when nothing
 * may embed the page, SAMEORIGIN when only 'self' may; omitted when named origins may embed it,
 * since X-Frame-Options cannot name them (and any value would contradict the CSP).
 */
export function frameOptions(frame: FramePolicy): 'DENY' | 'SAMEORIGIN' | undefined {
  const a = frame.frameAncestors;
  if (a.length === 0) return 'DENY';
  if (a.length === 1 && a[0] === "'self'") return 'SAMEORIGIN';
  return undefined;
}

/** The frame-ancestors sources of LINK_FRAME_ANCESTORS (space- or comma-separated; 'none' is none). */
export function parseFrameAncestors(value: string | undefined): string[] {
  const sources = (value ?? '').split(/[\s,]+/).filter(Boolean);
  return sources.length === 1 && sources[0] === "'none'" ? [] : sources;
}

