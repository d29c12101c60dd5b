-- Trades of a run, hash-partitioned on run_id: a run's trades live in one partition, so loading
-- or writing one run touches one partition and its index, and VACUUM works on 1/16th at a time.
-- No foreign key to runs: trades are written only in the transaction that inserts their run
-- (btdb record), nothing deletes runs, and a per-row key check makes COPY 3.4 times slower
-- (benches/copy_costs.sh in BENCHMARKS.md).
CREATE TABLE trades (
    run_id      bigint NOT NULL,
    seq         integer NOT NULL CHECK (seq >= 0),
    symbol      text NOT NULL CHECK (char_length(symbol) BETWEEN 1 AND 200),
    side        text NOT NULL CHECK (side IN ('long', 'short')),
    quantity    numeric NOT NULL CHECK (quantity > 0),
    entry_time  timestamptz NOT NULL,
    entry_price numeric NOT NULL CHECK (entry_price > 0),
    exit_time   timestamptz NOT NULL,
    exit_price  numeric NOT NULL CHECK (exit_price > 0),
    fees        numeric NOT NULL DEFAULT 0 CHECK (fees >= 0),
    pnl         numeric NOT NULL,
    CHECK (exit_time >= entry_time),
    -- Serves Trade::for_run (`btdb show RUN --trades`) in trade order, pruned to one partition.
    PRIMARY KEY (run_id, seq)
) PARTITION BY HASH (run_id);

DO $$
BEGIN
    FOR r IN 0..15 LOOP
        EXECUTE format(
            'CREATE TABLE trades_p%s PARTITION OF trades FOR VALUES WITH (MODULUS 16, REMAINDER %s)',
            lpad(r::text, 2, '0'), r);
    END LOOP;
END
$$;
