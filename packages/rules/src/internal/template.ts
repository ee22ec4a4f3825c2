/** A piece of a reply template: literal text or a placeholder. */
export type TemplatePart = string | { ref: string; fallback: string | undefined };

const PLACEHOLDER = /^\s*([A-Za-z_][\w.-]*|\d+)\s*(?:\|([^}]*))?$/;

/** Thrown for a malformed template; the caller turns it into `RULES_INVALID`. */
export class TemplateSyntaxError extends Error {}

/**
 * Parses a reply template: text with `{{name}}` placeholders, where `name`
 * is a regex capture group (by number or name) or a session slot, and
 * `{{name|text}}` gives a fallback when it has no value.
 */
export function parseTemplate(source: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let at = 0;

  for (;;) {
    const open = source.indexOf('{{', at);
    if (open < 0) break;

    const close = source.indexOf('}}', open + 2);
    if (close < 0) throw new TemplateSyntaxError(`unclosed "{{" at offset ${open}`);

    const m = PLACEHOLDER.exec(source.slice(open + 2, close));
    if (m === null) throw new TemplateSyntaxError(`bad placeholder at offset ${open}`);

    if (open > at) parts.push(source.slice(at, open));
    parts.push({ ref: m[1] as string, fallback: m[2]?.trim() });
    at = close + 2;
  }
  if (at < source.length) parts.push(source.slice(at));

  return parts;
}

/** The placeholders of a parsed template. */
export function templateRefs(parts: readonly TemplatePart[]): string[] {
  return parts.flatMap((p) => (typeof p === 'string' ? [] : [p.ref]));
}

/** Fills a parsed template; a placeholder with no value and no fallback becomes "". */
export function renderTemplate(
  parts: readonly TemplatePart[],
  resolve: (ref: string) => string | undefined,
): string {
  let out = '';

  for (const p of parts) {
    if (typeof p === 'string') out += p;
    else out += resolve(p.ref) ?? p.fallback ?? '';
  }
  return out;
}
