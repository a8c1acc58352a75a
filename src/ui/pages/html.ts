/**
 * A tiny tagged template for server-rendered pages: every interpolated value is escaped unless it is
 * already Html (built by this tag, or by `raw` for markup we wrote ourselves). Arrays are joined, and
 * null, undefined and false render nothing, so `${cond && html`…`}` reads naturally.
 */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

type Part = Html | string | number | boolean | null | undefined | readonly Part[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe for element content and quoted attribute values. */
export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]);

const render = (part: Part): string => {
  if (part instanceof Html) return part.value;
  if (Array.isArray(part)) return part.map(render).join('');
  if (part === null || part === undefined || part === false) return '';
  return escapeHtml(String(part));
};

export function html(strings: TemplateStringsArray, ...parts: Part[]): Html {
  let out = strings[0];
  for (let i = 0; i < parts.length; i++) out += render(parts[i]) + strings[i + 1];
  return new Html(out);
}

/** Markup this code wrote itself (never text from a request, a record or the catalog). */
export const raw = (markup: string) => new Html(markup);

/** A number as people read it: at most `digits` decimals, no trailing zeros; n/a for null. */
export const num = (x: number | null | undefined, digits = 4) =>
  x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : String(Number(x.toFixed(digits)));

/** A share as a percentage. */
export const pct = (x: number | null | undefined, digits = 2) => (x === null || x === undefined ? 'n/a' : `${num(100 * x, digits)}%`);
