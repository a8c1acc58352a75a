import { type Html, html } from './html.js';
import { bare } from './layout.js';

/** The token login form: posts the bearer token once; the server keeps it in an HttpOnly cookie. */
export function loginPage(opts: { next: string; error?: string }): Html {
  return bare(
    'Sign in',
    html`${opts.error ? html`<p class="error" role="alert" id="login-error">${opts.error}</p>` : ''}
<form method="post" action="/ui/login" class="stack">
<input type="hidden" name="next" value="${opts.next}">
<label for="token">Access token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required${opts.error ? html` aria-invalid="true" aria-describedby="login-error"` : ''}>
<p class="hint" id="token-hint">The bearer token you would send to the API: SEALAB_TOKEN, a token from <code>sealab token create</code>, or an OAuth access token.</p>
<button type="submit">Sign in</button>
</form>`,
  );
}

/** What a refused page says: why, and what to do next (the AppError's message and hint). */
export function refusalPage(title: string, message: string, hint: string): Html {
  return bare(title, html`<p class="error" role="alert">${message}</p><p>${hint}</p><p><a href="/ui">Back to the console</a></p>`);
}
