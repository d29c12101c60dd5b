-- The equity curve of a run, hash-partitioned on run_id like trades and for the same reason.
-- No foreign key to runs: points are written only in the transaction that inserts their run
-- (btdb record), nothing deletes runs, and a per-row key check makes COPY 3.4 times slower.
CREATE TABLE equity_points (
    run_id bigint NOT NULL,
    seq    integer NOT NULL CHECK (seq >= 0),
    ts     timestamptz NOT NULL,
    equity numeric NOT NULL CHECK (equity > 0)
    -- No primary key either: a curve is written whole by one COPY (so (run_id, seq) is unique
    -- by construction) and read whole, and a B-tree on every point makes COPY 1.7 times slower
    -- than the BRIN index below (benches/copy_costs.sh in BENCHMARKS.md).
) PARTITION BY HASH (run_id);

DO $$
BEGIN
    FOR r IN 0..15 LOOP
        EXECUTE format(
            'CREATE TABLE equity_points_p%s PARTITION OF equity_points FOR VALUES WITH (MODULUS 16, REMAINDER %s)',
            lpad(r::text, 2, '0'), r);
    END LOOP;
END
$$;

-- BRIN index. Serves EquityPoint::for_run (`btdb show RUN --equity`, `--plot`): a run's points
-- are written together, so each block range holds a few runs and the index stays a few pages
-- per partition. autosummarize keeps newly filled ranges from being scanned in full.
CREATE INDEX equity_points_run_id_brin ON equity_points USING brin (run_id)
    WITH (pages_per_range = 8, autosummarize = on);
