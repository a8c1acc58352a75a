import { bundle } from './bundle.js';

/** Inline `</script` would end the script element early: escape it the way JSON-in-HTML does. */
const inlineScript = (js: string) => js.replace(/<\/(script)/gi, '<\\/$1');

/**
 * The results MCP App as one self-contained HTML5 document: the App bundle (src/ui/client/app.ts, with
 * ext-apps, Observable Plot and the results view) inlined, so it needs no network and fits the
 * restrictive CSP a host applies when the resource declares no domains.
 */
export async function resultsAppHtml(): Promise<string> {
  const js = await bundle('app');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sealab results</title>
<style>body{margin:0;padding:12px;font-family:var(--font-sans,system-ui,sans-serif);}</style>
</head>
<body>
<main id="root" aria-live="polite"></main>
<script type="module">${inlineScript(js)}</script>
</body>
</html>`;
}
