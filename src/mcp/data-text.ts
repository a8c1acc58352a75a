/**
 * Text that users or agents wrote (names, hypotheses, goals, titles) goes out as delimited data,
 * never as instructions: control characters stripped, the closing tag defused, length-limited.
 */
export const quoteData = (label: string, text: string, max = 2000) =>
  `<data name="${label}">\n${String(text)
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '')
    .replace(/<\/data>/gi, '</ data>')
    .slice(0, max)}\n</data>`;

/** One-line form for tool text: JSON-quoted, so it cannot break out of its line or its quotes. */
export const quoted = (text: string, max = 200) => JSON.stringify(String(text).slice(0, max));
