import { ConfigError } from '../config.js';
import { loadSloFile } from '../ops/slo/slo-file.js';
import { sloRules } from '../ops/slo/slo-rules.js';

/** `sealab slo rules [--slo FILE]`: the SLO file's Prometheus recording and alerting rules on stdout (exit code returned). */
export function runSlo(opts: { action: string | undefined; file: string | undefined; out: (text: string) => void; note: (line: string) => void }): number {
  if (opts.action !== 'rules') {
    opts.note('usage: sealab slo rules [--slo FILE] > sealab-slo.rules.yml   (then: promtool check rules sealab-slo.rules.yml)');
    return 2;
  }
  try {
    opts.out(sloRules(loadSloFile(opts.file)));
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    opts.note(`sealab: ${err.message}`);
    return 1;
  }
}
