/** The view's styles: the MCP Apps host's CSS variables where given (spec "Theming"), readable fallbacks otherwise. */
export const RESULTS_CSS = `
.sl-results { font-family: var(--font-sans, system-ui, sans-serif); color: var(--color-text-primary, #1a1a1a); background: var(--color-background-primary, #fff); line-height: 1.4; }
.sl-results h2 { font-size: 1.2rem; margin: 0 0 .4rem; }
.sl-results h3 { font-size: 1.05rem; margin: 1rem 0 .4rem; }
.sl-results h4 { font-size: .95rem; margin: .5rem 0 .2rem; }
.sl-results dl { display: grid; grid-template-columns: max-content 1fr; gap: .15rem .8rem; margin: 0; }
.sl-results dt { font-weight: 600; }
.sl-results dd { margin: 0; }
.sl-results figure { margin: .6rem 0 1rem; }
.sl-results figcaption { margin-bottom: .3rem; }
.sl-muted { color: var(--color-text-secondary, #555); }
.sl-badge { display: inline-block; border: 1px solid currentColor; border-radius: var(--border-radius-sm, 4px); padding: 0 .4rem; margin: 0 .3rem .2rem 0; font-size: .85rem; }
.sl-warn { color: #b34700; font-weight: 600; }
.sl-marks { margin: .2rem 0; }
.sl-decision { border-left: 4px solid #999; padding: .3rem .8rem; margin-top: .6rem; background: var(--color-background-secondary, #f6f6f6); }
.sl-decision-ship { border-color: #009E73; }
.sl-decision-roll_back { border-color: #D55E00; }
.sl-decision-keep_running { border-color: #0072B2; }
.sl-decision ul { margin: .2rem 0; padding-left: 1.2rem; }
.sl-note { font-size: .85rem; }
.sl-sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0,0,0,0); white-space: nowrap; border: 0; }
`;
