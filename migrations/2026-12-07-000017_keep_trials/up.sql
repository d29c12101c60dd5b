-- What an optimizer knows of the runs it makes (Optuna's trials, docs/run-document.md):
-- a third status, `pruned`, for runs stopped early (stored and listed, never ranked); the
-- trial's number in its sweep, when it started and finished, and the search space it was
-- drawn from; the intermediate values it reported by step; and the direction in which a
-- strategy's metric ranks, where a document says it (a study that minimises its
-- `max_drawdown`). Nullable columns: adding them rewrites nothing.

ALTER TABLE runs DROP CONSTRAINT runs_status_check;
ALTER TABLE runs ADD CONSTRAINT runs_status_check
    CHECK (status IN ('completed', 'failed', 'pruned'));
-- Columns first, then their checks: Citus adds no column with a constraint in one command.
ALTER TABLE runs ADD COLUMN trial bigint;
ALTER TABLE runs ADD CONSTRAINT runs_trial_check CHECK (trial >= 0);
ALTER TABLE runs ADD COLUMN started_at timestamptz;
ALTER TABLE runs ADD COLUMN finished_at timestamptz;
ALTER TABLE runs ADD CONSTRAINT runs_trial_times_check CHECK (started_at <= finished_at);
-- The directions the run's document declared, metric name → 'maximize' or 'minimize', kept
-- so that `btdb export` writes the document back whole; metric_directions below is what
-- ranking reads.
ALTER TABLE runs ADD COLUMN directions jsonb;
ALTER TABLE runs ADD CONSTRAINT runs_directions_check
    CHECK (jsonb_typeof(directions) = 'object');
-- The search space the run's parameters were drawn from (an Optuna trial's distributions),
-- parameter → its range or choices: a sweep's axes, as wide as its runs' spaces.
ALTER TABLE runs ADD COLUMN search_space jsonb;
ALTER TABLE runs ADD CONSTRAINT runs_search_space_check
    CHECK (jsonb_typeof(search_space) = 'object');

-- Partial index, as runs_failed_id_idx: `btdb runs --status pruned` walks the pruned runs
-- only, however many completed runs there are.
CREATE INDEX runs_pruned_id_idx ON runs (id DESC) WHERE status = 'pruned';

-- A run's intermediate values in step order. No foreign key to runs, as for trades: written
-- only in the transaction that inserts their run, deleted with it (query/delete.rs).
CREATE TABLE intermediate_values (
    run_id bigint NOT NULL,
    step   bigint NOT NULL CHECK (step >= 0),
    value  double precision NOT NULL
           CHECK (value <> 'NaN' AND value <> 'Infinity' AND value <> '-Infinity'),
    -- Serves IntermediateValue::for_run (`btdb show`, the run page) in step order.
    PRIMARY KEY (run_id, step)
);

-- One direction per strategy and metric, whichever run declared it first; a run that
-- declares the other is refused (ingest/write.rs). Metrics no run declares rank as
-- metrics::direction says.
CREATE TABLE metric_directions (
    strategy_id     bigint NOT NULL REFERENCES strategies (id) ON DELETE CASCADE,
    name            text NOT NULL,
    lower_is_better boolean NOT NULL,
    -- Serves the ranking's lookup of one metric over its strategies, and the writer's check.
    PRIMARY KEY (name, strategy_id)
);

-- On a database already distributed (db/layout.rs), the new tables join the others.
DO $$
BEGIN
    IF to_regclass('run_keys') IS NOT NULL THEN
        PERFORM create_distributed_table('intermediate_values', 'run_id', colocate_with => 'runs');
        PERFORM create_reference_table('metric_directions');
    END IF;
END
$$;
