/**
 * PostgreSQL's schema, versioned like SQLite's (src/store/migrations.ts) and never edited once shipped. Version 19
 * is the baseline: SQLite's schema as migrations 1–19 leave it, translated — TEXT → text COLLATE "C" (text compares
 * and sorts byte by byte, as SQLite's BINARY does, whatever the database's locale), INTEGER → bigint, REAL → double
 * precision; WITHOUT ROWID tables → plain tables with the same primary keys; AUTOINCREMENT and rowid keys →
 * identity columns; covering indexes → INCLUDE — plus what several replicas need and SQLite does not have yet: the
 * configuration revision (issue 17 item 2). From 20 on, each version is written for both engines
 * (test/store/sql-contract.test.ts compares the two schemas column by column).
 */
export const PG_MIGRATIONS: { version: number; name: string; sql: string }[] = [
  {
    version: 19,
    name: 'baseline: the SQLite schema at version 19, and the configuration revision (issue 17, ADR 0020)',
    sql: `
      CREATE TABLE surfaces (id text COLLATE "C" PRIMARY KEY, doc text COLLATE "C" NOT NULL);
      CREATE TABLE content_items (id text COLLATE "C" PRIMARY KEY, type text COLLATE "C" NOT NULL, doc text COLLATE "C" NOT NULL, missing_upstream text COLLATE "C");
      CREATE TABLE metrics (id text COLLATE "C" PRIMARY KEY, doc text COLLATE "C" NOT NULL);
      CREATE TABLE experiments (
        id text COLLATE "C" PRIMARY KEY,
        key text COLLATE "C" NOT NULL UNIQUE,
        surface_id text COLLATE "C" NOT NULL REFERENCES surfaces(id),
        status text COLLATE "C" NOT NULL,
        outcome text COLLATE "C",
        version bigint NOT NULL,
        config text COLLATE "C" NOT NULL,
        buckets text COLLATE "C" NOT NULL DEFAULT '[]',
        created_at text COLLATE "C" NOT NULL,
        updated_at text COLLATE "C" NOT NULL,
        started_at text COLLATE "C",
        ended_at text COLLATE "C",
        stage_started_at text COLLATE "C",
        ramp_hold text COLLATE "C",
        conclusion text COLLATE "C"
      );
      CREATE INDEX experiments_surface_status ON experiments(surface_id, status);
      CREATE TABLE idempotency (
        scope text COLLATE "C" NOT NULL,
        key text COLLATE "C" NOT NULL,
        request_hash text COLLATE "C" NOT NULL,
        response text COLLATE "C" NOT NULL,
        created_at text COLLATE "C" NOT NULL,
        PRIMARY KEY (scope, key)
      );
      CREATE TABLE validations (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        experiment_id text COLLATE "C" NOT NULL REFERENCES experiments(id),
        version bigint NOT NULL,
        config_hash text COLLATE "C" NOT NULL,
        valid bigint NOT NULL,
        findings text COLLATE "C" NOT NULL,
        created_at text COLLATE "C" NOT NULL,
        plan_hash text COLLATE "C",
        policy_hash text COLLATE "C"
      );
      CREATE INDEX validations_exp ON validations(experiment_id, version);
      CREATE INDEX validations_plan ON validations(experiment_id, plan_hash);
      CREATE TABLE audit_log (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at text COLLATE "C" NOT NULL,
        actor text COLLATE "C" NOT NULL,
        interface text COLLATE "C" NOT NULL,
        operation text COLLATE "C" NOT NULL,
        request_id text COLLATE "C" NOT NULL,
        rationale text COLLATE "C",
        entity_type text COLLATE "C" NOT NULL,
        entity_id text COLLATE "C" NOT NULL,
        before text COLLATE "C",
        after text COLLATE "C",
        confirmation text COLLATE "C",
        on_behalf_of text COLLATE "C"
      );
      CREATE INDEX audit_entity ON audit_log(entity_type, entity_id);
      CREATE TABLE events (
        id text COLLATE "C" PRIMARY KEY,
        type text COLLATE "C" NOT NULL,
        unit_id text COLLATE "C" NOT NULL,
        received_at text COLLATE "C" NOT NULL
      );
      CREATE TABLE exposures (
        experiment_id text COLLATE "C" NOT NULL REFERENCES experiments(id),
        unit_id text COLLATE "C" NOT NULL,
        variant text COLLATE "C" NOT NULL,
        first_exposed_at text COLLATE "C" NOT NULL,
        PRIMARY KEY (experiment_id, unit_id)
      );
      -- A unit's exposures, read for every event the fold applies, from the index alone.
      CREATE INDEX exposures_unit ON exposures(unit_id, experiment_id) INCLUDE (variant, first_exposed_at);
      CREATE TABLE metric_events (
        event_id text COLLATE "C" NOT NULL,
        metric_id text COLLATE "C" NOT NULL,
        unit_id text COLLATE "C" NOT NULL,
        value double precision NOT NULL,
        ts text COLLATE "C" NOT NULL,
        PRIMARY KEY (unit_id, metric_id, ts, event_id)
      );
      CREATE TABLE unit_metric_state (
        experiment_id text COLLATE "C" NOT NULL,
        unit_id text COLLATE "C" NOT NULL,
        metric_id text COLLATE "C" NOT NULL,
        x double precision NOT NULL DEFAULT 0,
        y double precision NOT NULL DEFAULT 0,
        px double precision NOT NULL DEFAULT 0,
        py double precision NOT NULL DEFAULT 0,
        cx bigint NOT NULL DEFAULT 0,
        cy bigint NOT NULL DEFAULT 0,
        cpx bigint NOT NULL DEFAULT 0,
        cpy bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (experiment_id, unit_id, metric_id)
      );
      CREATE TABLE metric_aggregates (
        experiment_id text COLLATE "C" NOT NULL,
        variant text COLLATE "C" NOT NULL,
        metric_id text COLLATE "C" NOT NULL,
        n bigint NOT NULL DEFAULT 0,
        sum_x double precision NOT NULL DEFAULT 0,
        sum_x2 double precision NOT NULL DEFAULT 0,
        sum_y double precision NOT NULL DEFAULT 0,
        sum_y2 double precision NOT NULL DEFAULT 0,
        sum_xy double precision NOT NULL DEFAULT 0,
        updated_at text COLLATE "C" NOT NULL,
        -- Shifted sums as double-double pairs (migration 9) and ratio metrics' pre-exposure sums (migration 10).
        shift_x double precision NOT NULL DEFAULT 0,
        shift_y double precision NOT NULL DEFAULT 0,
        sum_dx double precision NOT NULL DEFAULT 0,
        sum_dx2 double precision NOT NULL DEFAULT 0,
        sum_dy double precision NOT NULL DEFAULT 0,
        sum_dy2 double precision NOT NULL DEFAULT 0,
        sum_dxdy double precision NOT NULL DEFAULT 0,
        sum_dx_lo double precision NOT NULL DEFAULT 0,
        sum_dx2_lo double precision NOT NULL DEFAULT 0,
        sum_dy_lo double precision NOT NULL DEFAULT 0,
        sum_dy2_lo double precision NOT NULL DEFAULT 0,
        sum_dxdy_lo double precision NOT NULL DEFAULT 0,
        sum_px double precision NOT NULL DEFAULT 0,
        sum_px2 double precision NOT NULL DEFAULT 0,
        sum_py double precision NOT NULL DEFAULT 0,
        sum_py2 double precision NOT NULL DEFAULT 0,
        sum_x_px double precision NOT NULL DEFAULT 0,
        sum_x_py double precision NOT NULL DEFAULT 0,
        sum_y_px double precision NOT NULL DEFAULT 0,
        sum_y_py double precision NOT NULL DEFAULT 0,
        sum_px_py double precision NOT NULL DEFAULT 0,
        PRIMARY KEY (experiment_id, variant, metric_id)
      );
      CREATE TABLE metric_daily (
        experiment_id text COLLATE "C" NOT NULL,
        variant text COLLATE "C" NOT NULL,
        metric_id text COLLATE "C" NOT NULL,
        day text COLLATE "C" NOT NULL,
        n bigint NOT NULL,
        sum_x double precision NOT NULL,
        sum_x2 double precision NOT NULL,
        sum_y double precision NOT NULL,
        sum_y2 double precision NOT NULL,
        sum_xy double precision NOT NULL,
        -- Shifted sums as double-double pairs (migration 9) and ratio metrics' pre-exposure sums (migration 10).
        shift_x double precision NOT NULL DEFAULT 0,
        shift_y double precision NOT NULL DEFAULT 0,
        sum_dx double precision NOT NULL DEFAULT 0,
        sum_dx2 double precision NOT NULL DEFAULT 0,
        sum_dy double precision NOT NULL DEFAULT 0,
        sum_dy2 double precision NOT NULL DEFAULT 0,
        sum_dxdy double precision NOT NULL DEFAULT 0,
        sum_dx_lo double precision NOT NULL DEFAULT 0,
        sum_dx2_lo double precision NOT NULL DEFAULT 0,
        sum_dy_lo double precision NOT NULL DEFAULT 0,
        sum_dy2_lo double precision NOT NULL DEFAULT 0,
        sum_dxdy_lo double precision NOT NULL DEFAULT 0,
        sum_px double precision NOT NULL DEFAULT 0,
        sum_px2 double precision NOT NULL DEFAULT 0,
        sum_py double precision NOT NULL DEFAULT 0,
        sum_py2 double precision NOT NULL DEFAULT 0,
        sum_x_px double precision NOT NULL DEFAULT 0,
        sum_x_py double precision NOT NULL DEFAULT 0,
        sum_y_px double precision NOT NULL DEFAULT 0,
        sum_y_py double precision NOT NULL DEFAULT 0,
        sum_px_py double precision NOT NULL DEFAULT 0,
        PRIMARY KEY (experiment_id, metric_id, day, variant)
      );
      CREATE TABLE operations (
        id text COLLATE "C" PRIMARY KEY,
        kind text COLLATE "C" NOT NULL,
        idempotency_key text COLLATE "C",
        request_hash text COLLATE "C" NOT NULL,
        experiment_id text COLLATE "C" NOT NULL,
        status text COLLATE "C" NOT NULL,
        steps text COLLATE "C" NOT NULL DEFAULT '[]',
        payload text COLLATE "C" NOT NULL,
        outcome text COLLATE "C",
        error text COLLATE "C",
        created_at text COLLATE "C" NOT NULL,
        updated_at text COLLATE "C" NOT NULL,
        owner text COLLATE "C",
        lease_until text COLLATE "C",
        attempting text COLLATE "C"
      );
      CREATE INDEX operations_key ON operations(kind, idempotency_key);
      CREATE INDEX operations_open ON operations(status);
      CREATE TABLE backend_allocations (
        experiment_id text COLLATE "C" PRIMARY KEY,
        surface_id text COLLATE "C" NOT NULL,
        status text COLLATE "C" NOT NULL,
        doc text COLLATE "C" NOT NULL,
        updated_at text COLLATE "C" NOT NULL
      );
      CREATE TABLE content_overrides (
        experiment_id text COLLATE "C" PRIMARY KEY,
        surface_id text COLLATE "C" NOT NULL,
        serving bigint NOT NULL,
        doc text COLLATE "C" NOT NULL,
        updated_at text COLLATE "C" NOT NULL
      );
      CREATE TABLE system_applied (
        system text COLLATE "C" NOT NULL,
        op_id text COLLATE "C" NOT NULL,
        step text COLLATE "C" NOT NULL,
        experiment_id text COLLATE "C" NOT NULL,
        at text COLLATE "C" NOT NULL,
        PRIMARY KEY (system, op_id, step)
      );
      CREATE TABLE quantile_bins (
        experiment_id text COLLATE "C" NOT NULL,
        metric_id text COLLATE "C" NOT NULL,
        variant text COLLATE "C" NOT NULL,
        bin bigint NOT NULL,
        count bigint NOT NULL,
        PRIMARY KEY (experiment_id, metric_id, variant, bin)
      );
      CREATE TABLE leases (name text COLLATE "C" PRIMARY KEY, owner text COLLATE "C" NOT NULL, until text COLLATE "C" NOT NULL);
      CREATE TABLE approval_requests (
        id text COLLATE "C" PRIMARY KEY,
        experiment_id text COLLATE "C" NOT NULL REFERENCES experiments(id),
        step text COLLATE "C" NOT NULL,
        args text COLLATE "C" NOT NULL,
        args_hash text COLLATE "C" NOT NULL,
        experiment_version bigint NOT NULL,
        plan_hash text COLLATE "C" NOT NULL,
        summary text COLLATE "C" NOT NULL,
        policy_reason text COLLATE "C",
        note text COLLATE "C",
        requester text COLLATE "C" NOT NULL,
        requester_principal text COLLATE "C" NOT NULL,
        status text COLLATE "C" NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'expired', 'applied', 'failed')),
        decided_by text COLLATE "C",
        decision_reason text COLLATE "C",
        created_at text COLLATE "C" NOT NULL,
        expires_at text COLLATE "C" NOT NULL,
        decided_at text COLLATE "C",
        result text COLLATE "C",
        error text COLLATE "C"
      );
      CREATE INDEX approval_requests_status ON approval_requests(status, expires_at);
      CREATE INDEX approval_requests_experiment ON approval_requests(experiment_id);
      CREATE TABLE operation_steps (
        op_id text COLLATE "C" NOT NULL,
        step text COLLATE "C" NOT NULL,
        phase text COLLATE "C" NOT NULL CHECK (phase IN ('queued', 'call', 'commit')),
        system text COLLATE "C",
        started_at text COLLATE "C" NOT NULL,
        duration_ms double precision NOT NULL,
        retries bigint NOT NULL DEFAULT 0,
        outcome text COLLATE "C" NOT NULL
      );
      CREATE INDEX operation_steps_op ON operation_steps(op_id);
      CREATE INDEX operation_steps_started ON operation_steps(started_at);
      -- version is given by the writer (the next after the newest), as in SQLite: not an identity.
      CREATE TABLE catalog_versions (
        version bigint PRIMARY KEY,
        applied_at text COLLATE "C" NOT NULL,
        actor text COLLATE "C" NOT NULL,
        digest text COLLATE "C" NOT NULL,
        summary text COLLATE "C" NOT NULL
      );
      CREATE TABLE product_events (
        id text COLLATE "C" NOT NULL,
        name text COLLATE "C" NOT NULL,
        unit_id text COLLATE "C" NOT NULL,
        value double precision NOT NULL,
        props text COLLATE "C",
        ts text COLLATE "C" NOT NULL,
        PRIMARY KEY (unit_id, name, ts, id)
      );
      CREATE TABLE content_sync (
        id bigint PRIMARY KEY CHECK (id = 1),
        source_url text COLLATE "C" NOT NULL,
        etag text COLLATE "C" NOT NULL,
        synced_at text COLLATE "C" NOT NULL
      );
      -- seq: arrival order. Unlike SQLite's single writer, concurrent appenders may commit seqs out of order:
      -- a fold must not advance past a seq some open transaction may still commit (ADR 0020, the event log).
      CREATE TABLE event_log (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text COLLATE "C" NOT NULL UNIQUE,
        type text COLLATE "C" NOT NULL,
        unit_id text COLLATE "C" NOT NULL,
        ref text COLLATE "C" NOT NULL,
        variant text COLLATE "C",
        value double precision,
        props text COLLATE "C",
        ts text COLLATE "C" NOT NULL,
        received_at text COLLATE "C" NOT NULL
      );
      CREATE TABLE fold_state (
        id bigint PRIMARY KEY CHECK (id = 1),
        folded_seq bigint NOT NULL
      );
      INSERT INTO fold_state (id, folded_seq) VALUES (1, 0);
      -- One row: bumped inside every configuration write's transaction; NOTIFY carries the new value (ADR 0020).
      CREATE TABLE config_revision (
        id bigint PRIMARY KEY CHECK (id = 1),
        revision bigint NOT NULL
      );
      INSERT INTO config_revision (id, revision) VALUES (1, 0);
    `,
  },
  {
    version: 20,
    name: 'config_revision: the twin of SQLite 20, which gives SQLite the row the baseline gave PostgreSQL (bumped by writers, ADR 0020)',
    sql: 'SELECT 1',
  },
  {
    version: 21,
    name: 'config_revision.changed_at: the twin of SQLite 21, set by bumpRevision from the server clock (issue 17, ADR 0020)',
    sql: `
      -- Epoch seconds of the newest bump (clock_timestamp() inside the writer's transaction). Replicas compute its age
      -- on the server (clock_timestamp() - changed_at), so clock skew between machines never enters the measure.
      ALTER TABLE config_revision ADD COLUMN changed_at double precision NOT NULL DEFAULT 0;
    `,
  },
];
