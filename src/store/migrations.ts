/** Versioned, append-only migrations. Never edit a shipped one: add the next. */
export const MIGRATIONS: { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'catalog, experiments, audit, events',
    sql: `
      CREATE TABLE surfaces (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
      CREATE TABLE content_items (id TEXT PRIMARY KEY, type TEXT NOT NULL, doc TEXT NOT NULL);
      CREATE TABLE metrics (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
      CREATE TABLE experiments (
        id TEXT PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        surface_id TEXT NOT NULL REFERENCES surfaces(id),
        status TEXT NOT NULL,
        outcome TEXT,
        version INTEGER NOT NULL,
        config TEXT NOT NULL,
        buckets TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        started_at TEXT,
        ended_at TEXT
      );
      CREATE INDEX experiments_surface_status ON experiments(surface_id, status);
      CREATE TABLE idempotency (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        response TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (scope, key)
      );
      CREATE TABLE validations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        experiment_id TEXT NOT NULL REFERENCES experiments(id),
        version INTEGER NOT NULL,
        config_hash TEXT NOT NULL,
        valid INTEGER NOT NULL,
        findings TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX validations_exp ON validations(experiment_id, version);
      CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        interface TEXT NOT NULL,
        operation TEXT NOT NULL,
        request_id TEXT NOT NULL,
        rationale TEXT,
        entity_type TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        before TEXT,
        after TEXT
      );
      CREATE INDEX audit_entity ON audit_log(entity_type, entity_id);
      CREATE TABLE events (
        id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        unit_id TEXT NOT NULL,
        received_at TEXT NOT NULL
      );
      CREATE TABLE exposures (
        experiment_id TEXT NOT NULL REFERENCES experiments(id),
        unit_id TEXT NOT NULL,
        variant TEXT NOT NULL,
        first_exposed_at TEXT NOT NULL,
        PRIMARY KEY (experiment_id, unit_id)
      );
      -- Metric events dedupe on their own primary key; the events table claims exposure ids.
      CREATE TABLE metric_events (
        event_id TEXT PRIMARY KEY,
        metric_id TEXT NOT NULL,
        unit_id TEXT NOT NULL,
        value REAL NOT NULL,
        ts TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX metric_events_unit ON metric_events(unit_id, metric_id, ts);
    `,
  },
  {
    version: 2,
    name: 'sufficient statistics: per-unit state, per-arm aggregates, daily snapshots',
    sql: `
      CREATE INDEX exposures_unit ON exposures(unit_id);
      -- x: the unit's post-exposure total (ratio: numerator); y: pre-exposure total for CUPED (ratio: denominator).
      CREATE TABLE unit_metric_state (
        experiment_id TEXT NOT NULL,
        unit_id TEXT NOT NULL,
        metric_id TEXT NOT NULL,
        x REAL NOT NULL DEFAULT 0,
        y REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (experiment_id, unit_id, metric_id)
      ) WITHOUT ROWID;
      -- Per (experiment, variant, metric): n, Σf(x), Σf(x)², Σg(y), Σg(y)², Σf(x)g(y); kept exact at ingest.
      CREATE TABLE metric_aggregates (
        experiment_id TEXT NOT NULL,
        variant TEXT NOT NULL,
        metric_id TEXT NOT NULL,
        n INTEGER NOT NULL DEFAULT 0,
        sum_x REAL NOT NULL DEFAULT 0,
        sum_x2 REAL NOT NULL DEFAULT 0,
        sum_y REAL NOT NULL DEFAULT 0,
        sum_y2 REAL NOT NULL DEFAULT 0,
        sum_xy REAL NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (experiment_id, variant, metric_id)
      ) WITHOUT ROWID;
      -- The aggregates as they stood at the end of each UTC day: the sequential look history.
      CREATE TABLE metric_daily (
        experiment_id TEXT NOT NULL,
        variant TEXT NOT NULL,
        metric_id TEXT NOT NULL,
        day TEXT NOT NULL,
        n INTEGER NOT NULL,
        sum_x REAL NOT NULL,
        sum_x2 REAL NOT NULL,
        sum_y REAL NOT NULL,
        sum_y2 REAL NOT NULL,
        sum_xy REAL NOT NULL,
        PRIMARY KEY (experiment_id, metric_id, day, variant)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 3,
    name: 'plan hashes on validations, confirmations in the audit log',
    sql: `
      -- A plan hash names one config judged under one surface policy; deploy must cite a current one.
      ALTER TABLE validations ADD COLUMN plan_hash TEXT;
      ALTER TABLE validations ADD COLUMN policy_hash TEXT;
      CREATE INDEX validations_plan ON validations(experiment_id, plan_hash);
      -- How a risky step was confirmed: {action, via: elicitation|argument, reason}.
      ALTER TABLE audit_log ADD COLUMN confirmation TEXT;
    `,
  },
  {
    version: 4,
    name: 'ramp stages: when the current stage started, and a hold on automatic advancement',
    sql: `
      -- Set when an experiment starts or changes allocation; the ramp scheduler measures time in stage from it.
      ALTER TABLE experiments ADD COLUMN stage_started_at TEXT;
      -- A hold on automatic ramping: {reason, actor, at}, or NULL. Not config, so it does not bump the version.
      ALTER TABLE experiments ADD COLUMN ramp_hold TEXT;
    `,
  },
  {
    version: 5,
    name: 'deploy sagas: operation log, backend and content-delivery system state',
    sql: `
      -- One row per cross-system write (deploy, stop): its steps done so far, what to restore on failure, its outcome.
      CREATE TABLE operations (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        idempotency_key TEXT,
        request_hash TEXT NOT NULL,
        experiment_id TEXT NOT NULL,
        status TEXT NOT NULL,
        steps TEXT NOT NULL DEFAULT '[]',
        payload TEXT NOT NULL,
        outcome TEXT,
        error TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX operations_key ON operations(kind, idempotency_key);
      CREATE INDEX operations_open ON operations(status);
      -- The experimentation backend's view: which experiments it allocates buckets to, and whether they run.
      CREATE TABLE backend_allocations (
        experiment_id TEXT PRIMARY KEY,
        surface_id TEXT NOT NULL,
        status TEXT NOT NULL,
        doc TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      -- Content delivery's view: which experiments' per-variant slot overrides a surface serves.
      CREATE TABLE content_overrides (
        experiment_id TEXT PRIMARY KEY,
        surface_id TEXT NOT NULL,
        serving INTEGER NOT NULL,
        doc TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      -- Every (operation, step) a system applied, once: a retried or replayed step is recognised, not applied again.
      CREATE TABLE system_applied (
        system TEXT NOT NULL,
        op_id TEXT NOT NULL,
        step TEXT NOT NULL,
        experiment_id TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (system, op_id, step)
      );
    `,
  },
  {
    version: 6,
    name: 'saga operations owned by one gateway process at a time (lease)',
    sql: `
      -- The gateway process running the operation, and until when its claim holds without renewal. Another
      -- process sharing this database takes an operation over (recovery) only once the owner is gone.
      ALTER TABLE operations ADD COLUMN owner TEXT;
      ALTER TABLE operations ADD COLUMN lease_until TEXT;
      -- The step sent but not yet confirmed: it may have landed (a timeout), so compensation covers its system too.
      ALTER TABLE operations ADD COLUMN attempting TEXT;
    `,
  },
  {
    version: 7,
    name: 'the conclusion of an experiment: its decision record, the shipped variant, a revert',
    sql: `
      -- Written when an experiment is concluded (stop, ship), amended by a revert of a ship; not config (no version bump).
      ALTER TABLE experiments ADD COLUMN conclusion TEXT;
    `,
  },
  {
    version: 8,
    name: 'quantile metrics: per-arm log-spaced histograms kept at ingest',
    sql: `
      -- Per (experiment, metric, variant): how many units' values fall in each bin of the DDSketch layout
      -- (src/domain/quantile-sketch.ts: bin keys ordered like the values, 1% wide). Only quantile metrics.
      CREATE TABLE quantile_bins (
        experiment_id TEXT NOT NULL,
        metric_id TEXT NOT NULL,
        variant TEXT NOT NULL,
        bin INTEGER NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (experiment_id, metric_id, variant, bin)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 9,
    name: 'shifted sums for variances that keep their digits at a large offset (issue 10)',
    sql: `
      -- Beside the raw sums: Σ(x − shift_x), Σ(x − shift_x)², Σ(y − shift_y), Σ(y − shift_y)², Σ(x − shift_x)(y − shift_y),
      -- with shifts fixed per (experiment, metric) when its first row is written, each kept as a pair col + col_lo
      -- (double-double: see src/store/double-double.ts). Rows from before have shift 0 and lo 0, so their shifted
      -- sums are the raw ones (same meaning as before).
      ALTER TABLE metric_aggregates ADD COLUMN shift_x REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_aggregates ADD COLUMN shift_y REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_aggregates ADD COLUMN sum_dx REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_aggregates ADD COLUMN sum_dx2 REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_aggregates ADD COLUMN sum_dy REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_aggregates ADD COLUMN sum_dy2 REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_aggregates ADD COLUMN sum_dxdy REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_aggregates ADD COLUMN sum_dx_lo REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_aggregates ADD COLUMN sum_dx2_lo REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_aggregates ADD COLUMN sum_dy_lo REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_aggregates ADD COLUMN sum_dy2_lo REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_aggregates ADD COLUMN sum_dxdy_lo REAL NOT NULL DEFAULT 0;
      UPDATE metric_aggregates SET sum_dx = sum_x, sum_dx2 = sum_x2, sum_dy = sum_y, sum_dy2 = sum_y2, sum_dxdy = sum_xy;
      ALTER TABLE metric_daily ADD COLUMN shift_x REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_daily ADD COLUMN shift_y REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_daily ADD COLUMN sum_dx REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_daily ADD COLUMN sum_dx2 REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_daily ADD COLUMN sum_dy REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_daily ADD COLUMN sum_dy2 REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_daily ADD COLUMN sum_dxdy REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_daily ADD COLUMN sum_dx_lo REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_daily ADD COLUMN sum_dx2_lo REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_daily ADD COLUMN sum_dy_lo REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_daily ADD COLUMN sum_dy2_lo REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_daily ADD COLUMN sum_dxdy_lo REAL NOT NULL DEFAULT 0;
      UPDATE metric_daily SET sum_dx = sum_x, sum_dx2 = sum_x2, sum_dy = sum_y, sum_dy2 = sum_y2, sum_dxdy = sum_xy;
    `,
  },
  {
    version: 10,
    name: 'pre-exposure sums of ratio metrics, for CUPED on ratios (issue 10)',
    sql: `
      -- Ratio metrics: the unit's pre-exposure numerator (px) and denominator (py) totals beside x, y (post-exposure).
      -- 0 for every other kind. Rows from before hold 0: no pre data yet (a rebuild fills them from the raw events).
      ALTER TABLE unit_metric_state ADD COLUMN px REAL NOT NULL DEFAULT 0;
      ALTER TABLE unit_metric_state ADD COLUMN py REAL NOT NULL DEFAULT 0;
      -- Per arm, ratio metrics only (RatioPreSums): Σpx, Σpx², Σpy, Σpy², Σx·px, Σx·py, Σy·px, Σy·py, Σpx·py.
      -- All 0 reads as "no pre-exposure data": the analysis then uses the plain ratio test.
      ALTER TABLE metric_aggregates ADD COLUMN sum_px REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_aggregates ADD COLUMN sum_px2 REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_aggregates ADD COLUMN sum_py REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_aggregates ADD COLUMN sum_py2 REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_aggregates ADD COLUMN sum_x_px REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_aggregates ADD COLUMN sum_x_py REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_aggregates ADD COLUMN sum_y_px REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_aggregates ADD COLUMN sum_y_py REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_aggregates ADD COLUMN sum_px_py REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_daily ADD COLUMN sum_px REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_daily ADD COLUMN sum_px2 REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_daily ADD COLUMN sum_py REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_daily ADD COLUMN sum_py2 REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_daily ADD COLUMN sum_x_px REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_daily ADD COLUMN sum_x_py REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_daily ADD COLUMN sum_y_px REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_daily ADD COLUMN sum_y_py REAL NOT NULL DEFAULT 0;
      ALTER TABLE metric_daily ADD COLUMN sum_px_py REAL NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 11,
    name: 'leases: one process at a time runs the ramp scheduler (issue 11)',
    sql: `
      -- A named lease held by one process (owner) until a wall-clock time; renewed while the holder lives.
      CREATE TABLE leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, until TEXT NOT NULL);
    `,
  },
  {
    version: 12,
    name: 'audit_log.on_behalf_of: whom a REST caller says it acts for, beside the authenticated actor (issue 11)',
    sql: `
      ALTER TABLE audit_log ADD COLUMN on_behalf_of TEXT;
      -- Rows written before this column kept the label inside the confirmation JSON: move it out.
      UPDATE audit_log SET on_behalf_of = json_extract(confirmation, '$.onBehalfOf')
        WHERE confirmation IS NOT NULL AND json_extract(confirmation, '$.onBehalfOf') IS NOT NULL;
      UPDATE audit_log SET confirmation = CASE WHEN json_extract(confirmation, '$.action') IS NULL THEN NULL ELSE json_remove(confirmation, '$.onBehalfOf') END
        WHERE on_behalf_of IS NOT NULL;
    `,
  },
  {
    version: 13,
    name: 'approval_requests: steps the policy holds for a human approval (issue 11 item 5)',
    sql: `
      -- A confirmable step (deploy/ramp, stop/ship, revert) held until a principal with the approve scope decides.
      -- args: what re-runs the step (the same service call); experiment_version and plan_hash: what the requester saw,
      -- so an approval of a changed plan is refused. Expiry is derived (pending and expires_at passed), never swept.
      CREATE TABLE approval_requests (
        id TEXT PRIMARY KEY,
        experiment_id TEXT NOT NULL REFERENCES experiments(id),
        step TEXT NOT NULL,
        args TEXT NOT NULL,
        args_hash TEXT NOT NULL,
        experiment_version INTEGER NOT NULL,
        plan_hash TEXT NOT NULL,
        summary TEXT NOT NULL,
        policy_reason TEXT,
        note TEXT,
        requester TEXT NOT NULL,
        requester_principal TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'expired', 'applied', 'failed')),
        decided_by TEXT,
        decision_reason TEXT,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        decided_at TEXT,
        result TEXT,
        error TEXT
      );
      CREATE INDEX approval_requests_status ON approval_requests(status, expires_at);
      CREATE INDEX approval_requests_experiment ON approval_requests(experiment_id);
    `,
  },
  {
    version: 14,
    name: 'operation_steps: per-step timings of saga operations, for diagnosis (issue 13 item 4)',
    sql: `
      -- One row per timed step of an operation: queued (logged → first step sent), each remote system call
      -- (system, retries, outcome) and the local commit. Appended once per step, never updated.
      CREATE TABLE operation_steps (
        op_id TEXT NOT NULL,
        step TEXT NOT NULL,
        phase TEXT NOT NULL CHECK (phase IN ('queued', 'call', 'commit')),
        system TEXT,
        started_at TEXT NOT NULL,
        duration_ms REAL NOT NULL,
        retries INTEGER NOT NULL DEFAULT 0,
        outcome TEXT NOT NULL
      );
      CREATE INDEX operation_steps_op ON operation_steps(op_id);
      CREATE INDEX operation_steps_started ON operation_steps(started_at);
    `,
  },
  {
    version: 15,
    name: 'catalog_versions: each applied catalog change (catalog as code, issue 14)',
    sql: `
      -- One row per applied catalog change: who, when, the digest of the whole catalog after it, and the change summary.
      -- Applying a catalog equal to the stored one writes no row (no version bump).
      CREATE TABLE catalog_versions (
        version INTEGER PRIMARY KEY,
        applied_at TEXT NOT NULL,
        actor TEXT NOT NULL,
        digest TEXT NOT NULL,
        summary TEXT NOT NULL
      );
    `,
  },
  {
    version: 16,
    name: 'raw product events, and event counts in the per-unit state (issue 14 item 3)',
    sql: `
      -- Raw product events as producers sent them ({"type":"event"}), stored once by id (the producer's, or a
      -- hash of the event's content): metrics with a source are computed from them, including metrics defined later.
      -- props: the flat properties object as JSON, or NULL. ts: ISO 8601 UTC, like every other event time.
      CREATE TABLE product_events (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        unit_id TEXT NOT NULL,
        value REAL NOT NULL,
        props TEXT,
        ts TEXT NOT NULL
      );
      CREATE INDEX product_events_unit ON product_events(unit_id, name, ts);
      -- Beside each sum of unit_metric_state (x, y, px, py), how many raw events it holds: a metric with a
      -- source and aggregate count, any or mean needs the count (mean = sum / count). 0 for pre-computed metrics.
      ALTER TABLE unit_metric_state ADD COLUMN cx INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE unit_metric_state ADD COLUMN cy INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE unit_metric_state ADD COLUMN cpx INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE unit_metric_state ADD COLUMN cpy INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 17,
    name: 'content sync: the last good content catalog from a remote content delivery (issue 14 item 5)',
    sql: `
      -- Set (ISO time) on an item the remote content delivery no longer lists but a draft, running or paused
      -- experiment still uses: kept so the record stays readable, refused by validation (CONTENT_MISSING_UPSTREAM).
      ALTER TABLE content_items ADD COLUMN missing_upstream TEXT;
      -- One row: where the content catalog was last synced from, its ETag and when (a restart sends If-None-Match).
      CREATE TABLE content_sync (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        source_url TEXT NOT NULL,
        etag TEXT NOT NULL,
        synced_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 18,
    name: 'event_log: acknowledged events appended once by id, folded asynchronously (issue 16 item 1, ADR 0018)',
    sql: `
      -- Every acknowledged event, in arrival order (seq), once per id. id is namespaced by type, as before the log:
      -- 'x:' exposures, 'm:' metric events, 'e:' raw product events, 's:' exposures served by sealab itself.
      -- ref: the experiment id (exposure), the metric id (metric) or the event name (event). Never deleted:
      -- the ids are what makes a retried batch a duplicate, and seq must never be reused.
      CREATE TABLE event_log (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        unit_id TEXT NOT NULL,
        ref TEXT NOT NULL,
        variant TEXT,
        value REAL,
        props TEXT,
        ts TEXT NOT NULL,
        received_at TEXT NOT NULL
      );
      -- One row: the last seq folded into exposures, per-unit state and aggregates (advanced in the fold's transaction).
      CREATE TABLE fold_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        folded_seq INTEGER NOT NULL
      );
      -- Ids stored before the log keep answering as duplicates: copied in, already folded.
      INSERT INTO event_log (id, type, unit_id, ref, ts, received_at)
        SELECT 'x:' || id, 'exposure', unit_id, '', received_at, received_at FROM events WHERE type = 'exposure';
      INSERT INTO event_log (id, type, unit_id, ref, value, ts, received_at)
        SELECT 'm:' || event_id, 'metric', unit_id, metric_id, value, ts, ts FROM metric_events;
      INSERT INTO event_log (id, type, unit_id, ref, value, props, ts, received_at)
        SELECT 'e:' || id, 'event', unit_id, name, value, props, ts, ts FROM product_events;
      INSERT INTO fold_state (id, folded_seq) VALUES (1, (SELECT COALESCE(MAX(seq), 0) FROM event_log));
    `,
  },
  {
    version: 19,
    name: 'metric_events and product_events keyed by unit: one b-tree each, in the order the fold reads (issue 16 item 1, ADR 0018)',
    sql: `
      -- The event log owns idempotency by id (migration 18), so these tables no longer need an id key of their own:
      -- each becomes one b-tree clustered by (unit, metric or name, time), the order the fold and the per-unit
      -- totals read, with the id last only to keep rows distinct. A fold turn then dirties one tree per table, not two,
      -- and a unit's rows sit together. Same columns in the same order; the rows are copied as they are.
      CREATE TABLE metric_events_19 (
        event_id TEXT NOT NULL,
        metric_id TEXT NOT NULL,
        unit_id TEXT NOT NULL,
        value REAL NOT NULL,
        ts TEXT NOT NULL,
        PRIMARY KEY (unit_id, metric_id, ts, event_id)
      ) WITHOUT ROWID;
      INSERT INTO metric_events_19 SELECT event_id, metric_id, unit_id, value, ts FROM metric_events;
      DROP TABLE metric_events;
      ALTER TABLE metric_events_19 RENAME TO metric_events;
      CREATE TABLE product_events_19 (
        id TEXT NOT NULL,
        name TEXT NOT NULL,
        unit_id TEXT NOT NULL,
        value REAL NOT NULL,
        props TEXT,
        ts TEXT NOT NULL,
        PRIMARY KEY (unit_id, name, ts, id)
      ) WITHOUT ROWID;
      INSERT INTO product_events_19 SELECT id, name, unit_id, value, props, ts FROM product_events;
      DROP TABLE product_events;
      ALTER TABLE product_events_19 RENAME TO product_events;
      -- A unit's exposures, read for every event the fold applies, from the index alone (no lookup into the table).
      DROP INDEX exposures_unit;
      CREATE INDEX exposures_unit ON exposures(unit_id, experiment_id, variant, first_exposed_at);
    `,
  },
  {
    version: 20,
    name: 'config_revision: bumped by every write to what serving compiles, so a process tells configuration from data (issue 16, ADR 0018)',
    sql: `
      -- PRAGMA data_version tells a process that another connection committed, not what: since the fold commits from
      -- its own thread (ADR 0018), most commits are data. Serving recompiles only when this revision moved. Triggers
      -- bump it for every writer (this process, another process, an older binary), in the writer's transaction.
      -- PostgreSQL has the same row since its baseline (ADR 0020), bumped by its writers for NOTIFY.
      CREATE TABLE config_revision (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        revision INTEGER NOT NULL
      );
      INSERT INTO config_revision (id, revision) VALUES (1, 0);
      CREATE TRIGGER config_revision_surfaces_i AFTER INSERT ON surfaces BEGIN UPDATE config_revision SET revision = revision + 1 WHERE id = 1; END;
      CREATE TRIGGER config_revision_surfaces_u AFTER UPDATE ON surfaces BEGIN UPDATE config_revision SET revision = revision + 1 WHERE id = 1; END;
      CREATE TRIGGER config_revision_surfaces_d AFTER DELETE ON surfaces BEGIN UPDATE config_revision SET revision = revision + 1 WHERE id = 1; END;
      CREATE TRIGGER config_revision_content_items_i AFTER INSERT ON content_items BEGIN UPDATE config_revision SET revision = revision + 1 WHERE id = 1; END;
      CREATE TRIGGER config_revision_content_items_u AFTER UPDATE ON content_items BEGIN UPDATE config_revision SET revision = revision + 1 WHERE id = 1; END;
      CREATE TRIGGER config_revision_content_items_d AFTER DELETE ON content_items BEGIN UPDATE config_revision SET revision = revision + 1 WHERE id = 1; END;
      CREATE TRIGGER config_revision_metrics_i AFTER INSERT ON metrics BEGIN UPDATE config_revision SET revision = revision + 1 WHERE id = 1; END;
      CREATE TRIGGER config_revision_metrics_u AFTER UPDATE ON metrics BEGIN UPDATE config_revision SET revision = revision + 1 WHERE id = 1; END;
      CREATE TRIGGER config_revision_metrics_d AFTER DELETE ON metrics BEGIN UPDATE config_revision SET revision = revision + 1 WHERE id = 1; END;
      CREATE TRIGGER config_revision_experiments_i AFTER INSERT ON experiments BEGIN UPDATE config_revision SET revision = revision + 1 WHERE id = 1; END;
      CREATE TRIGGER config_revision_experiments_u AFTER UPDATE ON experiments BEGIN UPDATE config_revision SET revision = revision + 1 WHERE id = 1; END;
      CREATE TRIGGER config_revision_experiments_d AFTER DELETE ON experiments BEGIN UPDATE config_revision SET revision = revision + 1 WHERE id = 1; END;
      CREATE TRIGGER config_revision_content_overrides_i AFTER INSERT ON content_overrides BEGIN UPDATE config_revision SET revision = revision + 1 WHERE id = 1; END;
      CREATE TRIGGER config_revision_content_overrides_u AFTER UPDATE ON content_overrides BEGIN UPDATE config_revision SET revision = revision + 1 WHERE id = 1; END;
      CREATE TRIGGER config_revision_content_overrides_d AFTER DELETE ON content_overrides BEGIN UPDATE config_revision SET revision = revision + 1 WHERE id = 1; END;
      CREATE TRIGGER config_revision_backend_allocations_i AFTER INSERT ON backend_allocations BEGIN UPDATE config_revision SET revision = revision + 1 WHERE id = 1; END;
      CREATE TRIGGER config_revision_backend_allocations_u AFTER UPDATE ON backend_allocations BEGIN UPDATE config_revision SET revision = revision + 1 WHERE id = 1; END;
      CREATE TRIGGER config_revision_backend_allocations_d AFTER DELETE ON backend_allocations BEGIN UPDATE config_revision SET revision = revision + 1 WHERE id = 1; END;
      CREATE TRIGGER config_revision_system_applied_i AFTER INSERT ON system_applied BEGIN UPDATE config_revision SET revision = revision + 1 WHERE id = 1; END;
      CREATE TRIGGER config_revision_system_applied_u AFTER UPDATE ON system_applied BEGIN UPDATE config_revision SET revision = revision + 1 WHERE id = 1; END;
      CREATE TRIGGER config_revision_system_applied_d AFTER DELETE ON system_applied BEGIN UPDATE config_revision SET revision = revision + 1 WHERE id = 1; END;
      CREATE TRIGGER config_revision_catalog_versions_i AFTER INSERT ON catalog_versions BEGIN UPDATE config_revision SET revision = revision + 1 WHERE id = 1; END;
      CREATE TRIGGER config_revision_catalog_versions_u AFTER UPDATE ON catalog_versions BEGIN UPDATE config_revision SET revision = revision + 1 WHERE id = 1; END;
      CREATE TRIGGER config_revision_catalog_versions_d AFTER DELETE ON catalog_versions BEGIN UPDATE config_revision SET revision = revision + 1 WHERE id = 1; END;
      CREATE TRIGGER config_revision_content_sync_i AFTER INSERT ON content_sync BEGIN UPDATE config_revision SET revision = revision + 1 WHERE id = 1; END;
      CREATE TRIGGER config_revision_content_sync_u AFTER UPDATE ON content_sync BEGIN UPDATE config_revision SET revision = revision + 1 WHERE id = 1; END;
      CREATE TRIGGER config_revision_content_sync_d AFTER DELETE ON content_sync BEGIN UPDATE config_revision SET revision = revision + 1 WHERE id = 1; END;
    `,
  },
  {
    version: 21,
    name: 'config_revision.changed_at: when the revision last moved, so a process measures commit-to-serving propagation (issue 17, ADR 0020)',
    sql: `
      -- Epoch seconds (REAL, millisecond precision) of the newest bump, set in the writer's transaction by one trigger on
      -- the row itself, so every writer the migration 20 triggers cover stamps it too. A reader computes the age in SQL
      -- against the same clock ('now' on this machine), never against another process's idea of the time.
      ALTER TABLE config_revision ADD COLUMN changed_at REAL NOT NULL DEFAULT 0;
      CREATE TRIGGER config_revision_changed_at AFTER UPDATE OF revision ON config_revision
      BEGIN UPDATE config_revision SET changed_at = (julianday('now') - 2440587.5) * 86400.0 WHERE id = NEW.id; END;
    `,
  },
];
