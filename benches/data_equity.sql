-- Equity curves for the 1,000,000-run data set (benches/data_1m.sql), 50 points a run, written
-- in id order as `btdb record` writes them (so each BRIN block range holds a few runs). Serves
-- the side-by-side figure of benches/web.rs. Deterministic; run once after data_1m.sql.
\set ON_ERROR_STOP on
SET synchronous_commit = off;
SET maintenance_work_mem = '1GB';
TRUNCATE equity_points;
INSERT INTO equity_points (run_id, seq, ts, equity)
    SELECT r.id, s, timestamptz '2020-01-01' + s * interval '1 day',
           round((10000 * (1 + 0.002 * s * sin(r.id + s)))::numeric, 2)
    FROM runs r, generate_series(0, 49) s
    ORDER BY r.id, s;
VACUUM ANALYZE equity_points;
