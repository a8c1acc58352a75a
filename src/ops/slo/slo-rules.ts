import { SLO_WINDOWS, type AlertPair, type Sli, type Slo, type SloFile } from './slo-schema.js';

/**
 * Prometheus recording and alerting rules equivalent to the in-process evaluation, for teams that
 * run Prometheus (`sealab slo rules`). One recording rule per SLO and window,
 * `sealab:sli_error_ratio:rate<window>{slo="<name>"}`, and the SLO's burn-rate pairs as alerts:
 * The Site Reliability Workbook, ch. 5 "Alerting on SLOs", table 5-8 (1h/5m and 6h/30m page, 3d/6h ticket).
 * Written as YAML by hand (no YAML dependency): every string is a single-quoted scalar.
 */
export function sloRules(file: SloFile): string {
  const out: string[] = [`# sealab SLO rules, generated from SLO file version ${q(file.version)} by \`sealab slo rules\``, 'groups:'];
  for (const slo of file.slos) {
    out.push(`  - name: ${q(`sealab-slo-${slo.name}`)}`, '    rules:');
    for (const w of SLO_WINDOWS) {
      out.push(
        `      - record: ${q(`sealab:sli_error_ratio:rate${w}`)}`,
        `        expr: ${q(errorRatioExpr(slo.sli, w))}`,
        '        labels:',
        `          slo: ${q(slo.name)}`,
      );
    }
    for (const a of slo.alerting) {
      const over = (w: string) => `sealab:sli_error_ratio:rate${w}{slo="${slo.name}"} > (${a.burnRate} * (1 - ${slo.objective}))`;
      out.push(
        `      - alert: ${q('SealabSloErrorBudgetBurn')}`,
        `        expr: ${q(`${over(a.long)} and ${over(a.short)}`)}`,
        '        labels:',
        `          severity: ${q(a.severity)}`,
        `          slo: ${q(slo.name)}`,
        `          long_window: ${q(a.long)}`,
        `          short_window: ${q(a.short)}`,
        '        annotations:',
        ...Object.entries(alertAnnotations(slo, a)).map(([k, v]) => `          ${k}: ${q(v)}`),
      );
    }
  }
  return `${out.join('\n')}\n`;
}

/** What an alert says (no templated values: promtool's unit tests compare annotations exactly). */
export function alertAnnotations(slo: Slo, a: AlertPair): { summary: string; description: string } {
  return {
    summary: `SLO ${slo.name} is burning its 30-day error budget more than ${a.burnRate}x over ${a.long} and ${a.short}`,
    description: `${slo.description || slo.name}; objective ${slo.objective}. See sealab://ops/slo, GET /v1/ops/slo or get_slo_status for the burn rates and budget left.`,
  };
}

/** The SLI's error ratio over one window in PromQL. */
export function errorRatioExpr(sli: Sli, w: string): string {
  // A bad counter nobody has incremented has no series at all: `or vector(0)` reads it as no errors (the in-process evaluator does the same).
  if (sli.kind === 'ratio')
    return `(sum(rate(${sel(sli.bad.metric, sli.bad.match)}[${w}])) or vector(0)) / sum(rate(${sel(sli.total.metric, sli.total.match)}[${w}]))`;
  if (sli.kind === 'latency') {
    const good = sel(`${sli.histogram}_bucket`, sli.match, `le="${sli.thresholdSeconds}"`);
    return `1 - sum(rate(${good}[${w}])) / sum(rate(${sel(`${sli.histogram}_count`, sli.match)}[${w}]))`;
  }
  return `avg_over_time((max(${sel(sli.gauge, sli.match)}) > bool ${sli.maxValue})[${w}:1m])`;
}

function sel(metric: string, match: Record<string, string[]>, extra?: string): string {
  const m = Object.entries(match).map(([k, vs]) => (vs.length === 1 ? `${k}="${str(vs[0]!)}"` : `${k}=~"${str(vs.map(escapeRe).join('|'))}"`));
  const all = [...(extra ? [extra] : []), ...m];
  return all.length ? `${metric}{${all.join(',')}}` : metric;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A PromQL double-quoted string's content. */
const str = (s: string) => s.replace(/[\\"]/g, '\\$&');
/** A YAML single-quoted scalar on one line: only the quote itself needs escaping (doubled). */
const q = (s: string) => `'${s.replace(/[\r\n\t]+/g, ' ').replace(/'/g, "''")}'`;
