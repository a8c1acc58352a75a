import { SqlApprovalRepo } from './approval-repo.js';
import { SqlAuditRepo } from './audit-repo.js';
import { SqlCatalogRepo } from './catalog-repo.js';
import { SqlContentSyncRepo } from './content-sync-repo.js';
import { SqlExperimentRepo } from './experiment-repo.js';
import { SqlIdempotencyRepo } from './idempotency-repo.js';
import { SqlLeaseRepo } from './lease-repo.js';
import { SqlOperationRepo } from './operation-repo.js';
import type { Sql } from './sql.js';
import { SqlValidationRepo } from './validation-repo.js';

/** The configuration store's repositories over one Sql: the root one for reads, or a transaction's. */
export interface ConfigRepos {
  sql: Sql;
  experiments: SqlExperimentRepo;
  catalog: SqlCatalogRepo;
  audit: SqlAuditRepo;
  validations: SqlValidationRepo;
  idempotency: SqlIdempotencyRepo;
  approvals: SqlApprovalRepo;
  operations: SqlOperationRepo;
  contentSync: SqlContentSyncRepo;
  leases: SqlLeaseRepo;
}

/**
 * Every repository bound to `sql`. They are stateless, so a use case builds a set inside `sql.tx(async (tx) =>
 * configRepos(tx) …)` for the price of a few small objects, and every statement lands in that transaction.
 */
export function configRepos(sql: Sql): ConfigRepos {
  return {
    sql,
    experiments: new SqlExperimentRepo(sql),
    catalog: new SqlCatalogRepo(sql),
    audit: new SqlAuditRepo(sql),
    validations: new SqlValidationRepo(sql),
    idempotency: new SqlIdempotencyRepo(sql),
    approvals: new SqlApprovalRepo(sql),
    operations: new SqlOperationRepo(sql),
    contentSync: new SqlContentSyncRepo(sql),
    leases: new SqlLeaseRepo(sql),
  };
}
