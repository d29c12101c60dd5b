-- The query benchmark's data set: 1,000 strategies x 500 parameter sets x 2 data sets
-- (1,000,000 runs) plus one strategy swept over 10,000 parameter sets, 16 metrics per run.
-- Deterministic (setseed). Secondary indexes are dropped while loading and rebuilt from their
-- own definitions in the catalog afterwards, which is how a bulk load is done.
-- `psql -v strategies=N` scales it (N x 1,000 runs, plus the sweep): benches/scale.sh.
\set ON_ERROR_STOP on
\if :{?strategies}
\else
    \set strategies 1000
\endif
SET maintenance_work_mem = '1GB';
SET synchronous_commit = off;
SELECT setseed(0.42);

TRUNCATE strategies, parameter_sets, sweeps, runs, metrics, trades, equity_points
    RESTART IDENTITY CASCADE;

CREATE TEMP TABLE saved_indexes AS
    SELECT i.indexname, i.indexdef FROM pg_indexes i
    WHERE i.schemaname = 'public'
      AND i.tablename IN ('runs', 'metrics', 'parameter_sets')
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname);
DO $$ DECLARE r record; BEGIN
    FOR r IN SELECT indexname FROM saved_indexes LOOP
        EXECUTE format('DROP INDEX %I', r.indexname);
    END LOOP;
END $$;

-- The ranking summaries are folded once at the end, as the migration that made them does,
-- rather than noting 16,000,000 rows through the metrics trigger's transition table.
ALTER TABLE metrics DISABLE TRIGGER metrics_note_inserts;

INSERT INTO sweeps (name) VALUES ('bench');
INSERT INTO strategies (name) SELECT 'bench_' || s FROM generate_series(1, :strategies) s;
INSERT INTO strategies (name) VALUES ('sweep_10k');

INSERT INTO parameter_sets (strategy_id, params, params_hash)
    SELECT s, jsonb_build_object('fast', 5 + p % 25, 'slow', 50 + (p / 25) * 10),
           sha256(convert_to(s || ':' || p, 'UTF8'))
    FROM generate_series(1, :strategies) s, generate_series(0, 499) p
    ORDER BY s, p;
INSERT INTO parameter_sets (strategy_id, params, params_hash)
    SELECT :strategies + 1, jsonb_build_object('fast', f, 'slow', w),
           sha256(convert_to((:strategies + 1) || ':' || f || ':' || w, 'UTF8'))
    FROM generate_series(1, 100) f, generate_series(1, 100) w
    ORDER BY f, w;

INSERT INTO runs (run_key, content_hash, strategy_id, parameter_set_id, sweep_id, dataset,
                  status, periods_per_year, tags)
    SELECT 'bench:' || ps.id || ':' || d.name, sha256(convert_to(ps.id || d.name, 'UTF8')),
           ps.strategy_id, ps.id, 1, d.name,
           CASE WHEN (ps.id + d.k) % 97 = 0 THEN 'failed' ELSE 'completed' END, 252,
           CASE WHEN ps.id % 1000 = 0 THEN ARRAY['rare'] ELSE ARRAY['bench'] END
    FROM parameter_sets ps
    JOIN (VALUES ('IS-2020', 0), ('OOS-2021', 1)) d(name, k)
      ON ps.strategy_id <= :strategies OR d.k = 0
    ORDER BY ps.id, d.k;

INSERT INTO metrics (run_id, name, value, strategy_id, parameter_set_id, dataset, completed)
    SELECT r.id, m.name, m.shift + m.scale * (random() + random() + random() - 1.5),
           r.strategy_id, r.parameter_set_id, r.dataset, r.status = 'completed'
    FROM runs r
    CROSS JOIN (VALUES ('avg_trade_pnl', 10.0, 50.0), ('best_trade', 500.0, 1000.0),
                       ('cagr', 0.1, 0.2), ('calmar', 0.5, 1.0), ('max_drawdown', -0.2, 0.1),
                       ('n_periods', 500.0, 10.0), ('n_trades', 100.0, 40.0),
                       ('profit_factor', 1.2, 0.4), ('returns_kurtosis', 4.0, 1.0),
                       ('returns_skew', 0.0, 0.4), ('sharpe', 0.5, 1.0), ('sortino', 0.8, 1.5),
                       ('total_return', 0.2, 0.3), ('volatility', 0.15, 0.05),
                       ('win_rate', 0.5, 0.1), ('worst_trade', -500.0, 300.0))
         AS m(name, shift, scale)
    ORDER BY r.id, m.name;

-- Each run's metric values in one row (migration 20), as the recorder writes them.
SELECT btdb_fill_metric_rows();

DO $$ DECLARE r record; BEGIN
    FOR r IN SELECT indexdef FROM saved_indexes LOOP
        EXECUTE r.indexdef;
    END LOOP;
END $$;
ALTER TABLE metrics ENABLE TRIGGER metrics_note_inserts;
INSERT INTO metric_summary_changes (strategy_id, dataset)
    SELECT DISTINCT strategy_id, dataset FROM metrics WHERE completed;
SELECT btdb_summarize() AS summarised_groups;
VACUUM ANALYZE strategies, parameter_sets, sweeps, runs, metrics, metric_summaries,
    pooled_metric_summaries;
SELECT (SELECT count(*) FROM runs) AS runs, (SELECT count(*) FROM metrics) AS metrics,
       pg_size_pretty(pg_database_size(current_database())) AS size;
