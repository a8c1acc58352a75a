import { pairUpsertSql } from '../double-double.js';

/** Shifted sums Σ(x − r_x), Σ(x − r_x)², Σ(y − r_y), Σ(y − r_y)², Σ(x − r_x)(y − r_y), each kept as a pair col + col_lo. */
export const SHIFTED = ['sum_dx', 'sum_dx2', 'sum_dy', 'sum_dy2', 'sum_dxdy'];
/** Ratio metrics' CUPED sums (RatioPreSums): Σpx, Σpx², Σpy, Σpy², Σx·px, Σx·py, Σy·px, Σy·py, Σpx·py; 0 for other kinds. */
export const RATIO_PRE = ['sum_px', 'sum_px2', 'sum_py', 'sum_py2', 'sum_x_px', 'sum_x_py', 'sum_y_px', 'sum_y_py', 'sum_px_py'];
/** Slots of an arm's pending delta: n, the 5 raw sums, the 5 shifted pairs, then RATIO_PRE. */
export const RATIO_PRE_AT = 16;
export const DELTA_LENGTH = RATIO_PRE_AT + RATIO_PRE.length;

const SHIFTED_COLUMNS = ['shift_x', 'shift_y', ...SHIFTED.flatMap((c) => [c, `${c}_lo`])].join(', ');
const SNAPSHOT_COLUMNS = `${SHIFTED_COLUMNS}, ${RATIO_PRE.join(', ')}`;

/** metric_aggregates' columns in the order an AggregateDelta binds them: keys, shifts, then the DELTA_LENGTH slots, then updated_at. */
export const AGGREGATE_COLUMNS = [
  'experiment_id',
  'variant',
  'metric_id',
  'shift_x',
  'shift_y',
  'n',
  'sum_x',
  'sum_x2',
  'sum_y',
  'sum_y2',
  'sum_xy',
  ...SHIFTED.flatMap((c) => [c, `${c}_lo`]),
  ...RATIO_PRE,
  'updated_at',
];

/** The delta upsert's conflict clause: every sum adds, the pairs by TwoSum in SQL (both engines evaluate SET against the old row). */
export const AGGREGATE_UPSERT = `ON CONFLICT(experiment_id, variant, metric_id) DO UPDATE SET
  n = metric_aggregates.n + excluded.n, sum_x = metric_aggregates.sum_x + excluded.sum_x, sum_x2 = metric_aggregates.sum_x2 + excluded.sum_x2,
  sum_y = metric_aggregates.sum_y + excluded.sum_y, sum_y2 = metric_aggregates.sum_y2 + excluded.sum_y2, sum_xy = metric_aggregates.sum_xy + excluded.sum_xy,
  ${SHIFTED.map((c) => pairUpsertSql(c, 'metric_aggregates')).join(',\n  ')},
  ${RATIO_PRE.map((c) => `${c} = metric_aggregates.${c} + excluded.${c}`).join(', ')},
  updated_at = excluded.updated_at`;

/** One arm's delta, SQLite (one row per statement: in-process, a prepared statement per row costs microseconds). */
export const AGGREGATE_BUMP_SQL = `INSERT INTO metric_aggregates (${AGGREGATE_COLUMNS.join(', ')})
  VALUES (${AGGREGATE_COLUMNS.map(() => '?').join(',')})
  ${AGGREGATE_UPSERT}`;

/** The values an AggregateDelta binds, in AGGREGATE_COLUMNS' order. */
export const aggregateValues = (p: { experimentId: string; variant: string; metricId: string; shifts: [number, number]; d: number[]; at: string }) => [
  p.experimentId,
  p.variant,
  p.metricId,
  ...p.shifts,
  ...p.d,
  p.at,
];

const SNAPSHOT_SET = `n = excluded.n, sum_x = excluded.sum_x, sum_x2 = excluded.sum_x2, sum_y = excluded.sum_y, sum_y2 = excluded.sum_y2, sum_xy = excluded.sum_xy,
  ${SNAPSHOT_COLUMNS.split(', ')
    .map((c) => `${c} = excluded.${c}`)
    .join(', ')}`;

/** The day's snapshot of one experiment's aggregates; `where` selects the experiments (bound after the day). */
export const snapshotSql = (where: string) => `INSERT INTO metric_daily (experiment_id, variant, metric_id, day, n, sum_x, sum_x2, sum_y, sum_y2, sum_xy,
    ${SNAPSHOT_COLUMNS})
  SELECT experiment_id, variant, metric_id, ?, n, sum_x, sum_x2, sum_y, sum_y2, sum_xy,
    ${SNAPSHOT_COLUMNS} FROM metric_aggregates WHERE ${where}
  ON CONFLICT(experiment_id, metric_id, day, variant) DO UPDATE SET ${SNAPSHOT_SET}`;

export const BIN_BUMP_SQL = `INSERT INTO quantile_bins (experiment_id, metric_id, variant, bin, count) VALUES (?,?,?,?,?)
  ON CONFLICT(experiment_id, metric_id, variant, bin) DO UPDATE SET count = quantile_bins.count + excluded.count`;

export const STATE_COLUMNS = 'x, y, px, py, cx, cy, cpx, cpy';

export const STATE_UPSERT_SQL = `INSERT INTO unit_metric_state (experiment_id, unit_id, metric_id, ${STATE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)
  ON CONFLICT(experiment_id, unit_id, metric_id) DO UPDATE SET x = excluded.x, y = excluded.y, px = excluded.px, py = excluded.py,
    cx = excluded.cx, cy = excluded.cy, cpx = excluded.cpx, cpy = excluded.cpy`;
