import type { Scope } from '../../domain/scopes.js';
import { type Html, html } from './html.js';

/** Who is looking, and what the shell around every page needs to know about them. */
export interface Viewer {
  principal: string;
  scopes: readonly Scope[];
  /** The CSRF token this browser's forms carry (ui-session.ts). */
  csrf: string;
  /** True when the viewer logged in with a token (so a logout button makes sense). */
  session: boolean;
}

export interface Shell {
  title: string;
  viewer: Viewer;
  /** Which nav entry is the current page. */
  current: 'experiments' | 'surfaces' | 'approvals' | 'slo' | 'none';
  surfaces: readonly { id: string; name: string }[];
  pendingApprovals?: number;
  body: Html;
  /** Load /ui/assets/console.js (pages with charts). */
  script?: boolean;
}

const link = (href: string, label: Html | string, on: boolean) => html`<li><a href="${href}"${on ? html` aria-current="page"` : ''}>${label}</a></li>`;

/** The frame of every page: skip link, banner with the nav, main, footer. Landmarks in that order. */
export function layout(s: Shell): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${s.title} · sealab</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/ui/assets/console.css">
${s.script ? html`<script type="module" src="/ui/assets/console.js"></script>` : ''}
</head>
<body>
<a class="skip" href="#main">Skip to main content</a>
<header class="banner">
<a class="brand" href="/ui">sealab</a>
<nav aria-label="Main">
<ul>
${link('/ui', 'Experiments', s.current === 'experiments')}
${s.surfaces.map((x) => link(`/ui/surfaces/${encodeURIComponent(x.id)}`, html`Surface: ${x.name}`, s.current === 'surfaces' && s.title.endsWith(x.name)))}
${link('/ui/approvals', html`Approvals${s.pendingApprovals ? html` <span class="badge" aria-label="${s.pendingApprovals} pending">${s.pendingApprovals}</span>` : ''}`, s.current === 'approvals')}
${link('/ui/slo', 'SLOs', s.current === 'slo')}
</ul>
</nav>
<div class="who">
<span>Signed in as <strong>${s.viewer.principal}</strong> (${s.viewer.scopes.join(', ') || 'no scopes'})</span>
${
  s.viewer.session
    ? html`<form method="post" action="/ui/logout"><input type="hidden" name="csrf" value="${s.viewer.csrf}"><button type="submit">Log out</button></form>`
    : ''
}
</div>
</header>
<main id="main" tabindex="-1">
<h1>${s.title}</h1>
${s.body}
</main>
<footer><p>sealab console · data as of page load; reload for fresh numbers · <a href="/v1/openapi.json">REST API</a></p></footer>
</body>
</html>`;
}

/** A page with no shell: the login form and refusals before anyone is known. */
export function bare(title: string, body: Html): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · sealab</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/ui/assets/console.css">
</head>
<body>
<a class="skip" href="#main">Skip to main content</a>
<header class="banner"><span class="brand">sealab</span></header>
<main id="main" tabindex="-1" class="narrow">
<h1>${title}</h1>
${body}
</main>
</body>
</html>`;
}
