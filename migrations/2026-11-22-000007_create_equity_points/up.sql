-- The equity curve of a run, hash-partitioned on run_id like trades and for the same reason.
CREATE TABLE equity_points (
    run_id bigint NOT NULL REFERENCES runs (id),
    seq    integer NOT NULL CHECK (seq >= 0),
    ts     timestamptz NOT NULL,
    equity numeric NOT NULL CHECK (equity > 0),
    -- Serves EquityPoint::for_run (`btdb show RUN --plot`, metric recomputation) in curve order,
    -- pruned to one partition.
    PRIMARY KEY (run_id, seq)
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
