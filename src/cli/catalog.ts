import { randomUUID } from 'node:crypto';
import { checkCatalog } from '../app/catalog/catalog-check.js';
import { issueText } from '../app/catalog/catalog-document.js';
import { readCatalogDir } from '../app/catalog/catalog-files.js';
import { planText } from '../app/catalog/catalog-plan.js';
import type { Container } from '../container.js';
import { localActor } from './approvals.js';

export interface CatalogCommand {
  action: string | undefined;
  dir: string | undefined;
  json?: boolean;
  /** false when SEALAB_CONTENT_URL is set: content comes from the content delivery, not from files. */
  contentManaged: boolean;
  /** Opens the data directory (plan and apply only; validate reads nothing but the files). */
  open: () => Promise<Container>;
  actor?: string;
  /** Results: stdout. */
  out: (text: string) => void;
  /** What a person reads: stderr. */
  note: (line: string) => void;
}

export const CATALOG_USAGE = 'usage: sealab catalog validate DIR | catalog plan DIR [--json] | catalog apply DIR [--json]   (--data-dir DIR: the store)';

/**
 * `sealab catalog validate|plan|apply DIR`: the files alone (validate), their diff against the data
 * directory's store (plan), and that diff written in one audited transaction (apply). Returns the exit
 * code: 0 done, 1 invalid or refused (typed errors are thrown to main's handler), 2 usage.
 */
export async function runCatalog(cmd: CatalogCommand): Promise<number> {
  if (!cmd.dir || !['validate', 'plan', 'apply'].includes(cmd.action ?? '')) {
    cmd.note(CATALOG_USAGE);
    return 2;
  }
  if (cmd.action === 'validate') return validate(cmd, cmd.dir);
  const app = await cmd.open();
  try {
    if (cmd.action === 'plan') {
      const plan = await app.catalogChanges.planDir(cmd.dir);
      cmd.out(cmd.json ? `${JSON.stringify(plan, null, 2)}\n` : `${planText(plan)}\n`);
      for (const w of plan.warnings) cmd.note(issueText(w));
      return 0;
    }
    const r = await app.catalogChanges.applyDir(cmd.dir, {
      actor: cmd.actor ?? localActor(),
      interface: 'cli',
      operation: 'catalog apply',
      requestId: randomUUID(),
    });
    if (cmd.json) cmd.out(`${JSON.stringify(r, null, 2)}\n`);
    else
      cmd.out(
        `${planText(r.plan)}\n${r.applied ? `applied: catalog version ${r.version}` : `nothing to apply: catalog version ${r.version} already matches`}\n`,
      );
    return 0;
  } finally {
    await app.close();
  }
}

function validate(cmd: CatalogCommand, dir: string): number {
  const read = readCatalogDir(dir);
  const { catalog, issues } = checkCatalog(read.sources, { contentManaged: cmd.contentManaged });
  const all = [...read.issues, ...issues];
  const errors = all.filter((i) => i.severity === 'error').length;
  if (cmd.json) cmd.out(`${JSON.stringify({ valid: errors === 0, issues: all }, null, 2)}\n`);
  else {
    for (const i of all) cmd.out(`${issueText(i)}\n`);
    cmd.out(
      `${dir}: ${catalog.surfaces.length} surfaces, ${catalog.content.length} content items, ${catalog.metrics.length} metrics; ${errors} errors, ${all.length - errors} warnings\n`,
    );
  }
  return errors ? 1 : 0;
}
