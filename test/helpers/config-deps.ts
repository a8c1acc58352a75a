import { ApprovalService } from '../../src/app/approvals/approval-service.js';
import { CatalogChanges } from '../../src/app/catalog/catalog-apply.js';
import type { AppDeps } from '../../src/app/context.js';
import { DeploySaga } from '../../src/app/deploy/deploy-saga.js';
import { DeployService } from '../../src/app/deploy/deploy-service.js';
import { StopService } from '../../src/app/deploy/stop-service.js';
import { ExperimentService } from '../../src/app/experiments/experiment-service.js';
import { createLogger } from '../../src/logger.js';
import { configRepos } from '../../src/store/sql/config-repos.js';
import type { Sql } from '../../src/store/sql/sql.js';
import type { Clock } from '../../src/systems/clock.js';
import { EmbeddedBackend, EmbeddedContent } from '../../src/systems/embedded.js';
import type { Policy } from '../../src/domain/policy.js';

/** The configuration use cases over one Sql, as one replica (gateway) builds them: what runs on either engine. */
export interface ConfigReplica {
  deps: AppDeps;
  experiments: ExperimentService;
  deploys: DeployService;
  stops: StopService;
  saga: DeploySaga;
  approvals: ApprovalService;
  /** Catalog as code (plan, apply) over the same store. */
  catalogChanges: CatalogChanges;
  close(): void;
}

let ids = 0;

/**
 * The config side of the composition root over `sql` alone (issue 17): every use case here reads and writes through
 * the async store. AppDeps has no synchronous connection (SqliteDeps adds it for the SQLite
 * root only), so no use case can reach past the async store. Embedded systems write inside the config transaction (putIn).
 */
export function configReplica(sql: Sql, opts: { policy: Policy; clock: Clock; name: string; contentDelivery?: 'embedded' | 'remote' }): ConfigReplica {
  const deps: AppDeps = {
    sql,
    store: configRepos(sql),
    policy: opts.policy,
    clock: opts.clock,
    newId: (prefix) => `${prefix}_${opts.name}_${++ids}`,
    logger: createLogger('silent'),
    emit: () => undefined,
    commits: {},
    contentDelivery: opts.contentDelivery ?? 'embedded',
  };
  const experiments = new ExperimentService(deps);
  const deploys = new DeployService(deps, experiments);
  const stops = new StopService(deps, experiments);
  const systems = { embedded: true as const, backend: new EmbeddedBackend(sql, deps.clock), content: new EmbeddedContent(sql, deps.clock) };
  const saga = new DeploySaga(deps, experiments, deploys, stops, systems, deps.store.operations);
  const approvals = new ApprovalService(deps, experiments, deploys, stops, saga);
  const catalogChanges = new CatalogChanges(deps, deps.contentDelivery === 'embedded');
  return { deps, experiments, deploys, stops, saga, approvals, catalogChanges, close: () => undefined };
}
