-- What `btdb rank --by mean|median|worst|best|count` and `--min-runs` rank by, per strategy
-- and metric over its completed runs: per data set in metric_summaries, over all data sets in
-- pooled_metric_summaries (medians do not combine). A ranking then reads one row per strategy
-- instead of every run's.
--
-- Kept exact, never stale: every statement that changes metrics notes the (strategy, data set)
-- groups it touched in metric_summary_changes, in its own transaction (statement triggers
-- below). btdb_summarize() takes the notes it sees and recomputes those groups from metrics,
-- in one snapshot. A ranking reads, in one snapshot too, the summaries of the groups without a
-- note and aggregates the noted groups from metrics (query/summary.rs). So a run's metrics are
-- either in its group's summary or its note is still there: no watermark, no lag.
CREATE TABLE metric_summaries (
    name        text NOT NULL,
    dataset     text NOT NULL,
    strategy_id bigint NOT NULL,
    runs        bigint NOT NULL CHECK (runs > 0),
    mean        double precision NOT NULL,
    median      double precision NOT NULL,
    lowest      double precision NOT NULL,
    highest     double precision NOT NULL,
    -- Covering: a ranking of one metric on one data set is an index-only scan of its rows.
    PRIMARY KEY (name, dataset, strategy_id) INCLUDE (runs, mean, median, lowest, highest)
);

CREATE TABLE pooled_metric_summaries (
    name        text NOT NULL,
    strategy_id bigint NOT NULL,
    runs        bigint NOT NULL CHECK (runs > 0),
    mean        double precision NOT NULL,
    median      double precision NOT NULL,
    lowest      double precision NOT NULL,
    highest     double precision NOT NULL,
    PRIMARY KEY (name, strategy_id) INCLUDE (runs, mean, median, lowest, highest)
);

-- Insert-only for writers, without a unique key: concurrent recorders of one strategy never
-- wait on each other here. Emptied by btdb_summarize(), so it holds only the changes of the
-- batches in flight: a ranking reads it whole, once, into a hash (no index would serve that
-- better, and it would cost every note an index entry).
CREATE TABLE metric_summary_changes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    strategy_id bigint NOT NULL,
    dataset     text NOT NULL
);

-- SECURITY DEFINER: the notes are btdb's bookkeeping, not the writer's; the writer role needs
-- no privilege on the table, and a note is taken whoever changes metrics (psql included).
CREATE FUNCTION btdb_note_metric_changes() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    -- Failed runs are never ranked: their metrics change no summary.
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO metric_summary_changes (strategy_id, dataset)
            SELECT DISTINCT strategy_id, dataset FROM new_rows WHERE completed;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO metric_summary_changes (strategy_id, dataset)
            SELECT DISTINCT strategy_id, dataset FROM old_rows WHERE completed;
    END IF;
    RETURN NULL;
END
$$;

-- A trigger with transition tables handles one event; one call per statement, not per row.
CREATE TRIGGER metrics_note_inserts AFTER INSERT ON metrics
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION btdb_note_metric_changes();
CREATE TRIGGER metrics_note_updates AFTER UPDATE ON metrics
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION btdb_note_metric_changes();
CREATE TRIGGER metrics_note_deletes AFTER DELETE ON metrics
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION btdb_note_metric_changes();

-- TRUNCATE has no transition table: with no metric left, no summary is right.
CREATE FUNCTION btdb_forget_summaries() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    DELETE FROM metric_summaries;
    DELETE FROM pooled_metric_summaries;
    DELETE FROM metric_summary_changes;
    RETURN NULL;
END
$$;
CREATE TRIGGER metrics_forget_summaries AFTER TRUNCATE ON metrics
    FOR EACH STATEMENT EXECUTE FUNCTION btdb_forget_summaries();

-- Folds the notes into the summaries; returns the groups recomputed. Run by `btdb record` and
-- `btdb delete` once their runs are committed, outside their transactions, so that no recorder
-- holds a summary row while it writes runs.
CREATE FUNCTION btdb_summarize() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    recomputed bigint;
    source text;
BEGIN
    -- One at a time, and each statement below takes its snapshot after the previous
    -- summarize committed: an older snapshot never overwrites a newer one's summaries.
    PERFORM pg_advisory_xact_lock(hashtext('btdb_summarize'));
    -- The rows to aggregate, read through metrics_rank_idx (name, strategy_id, value). A few
    -- strategies: one index range per metric name and strategy, the names found by skipping
    -- through the index (a hash join read the whole table: 2.4 s for 2 strategies among
    -- 1,011, against 0.05 s). Many (a delete across strategies, the first fold): every completed row in
    -- the index's order, which needs no sort of the whole table (11.8 s instead of 26 s with
    -- a hash join for the 16,000,000 rows of the benchmark data); groups recomputed without a
    -- note come out as they were, and only the noted ones are written.
    IF (SELECT count(DISTINCT strategy_id) FROM metric_summary_changes) * 4
       > (SELECT count(*) FROM strategies) THEN
        source := 'metrics m';
    ELSE
        source := '(WITH RECURSIVE names(name) AS (
                        (SELECT name FROM metrics WHERE completed ORDER BY name LIMIT 1)
                        UNION ALL
                        SELECT (SELECT m.name FROM metrics m
                                WHERE m.completed AND m.name > names.name
                                ORDER BY m.name LIMIT 1)
                        FROM names WHERE names.name IS NOT NULL)
                    SELECT name FROM names WHERE name IS NOT NULL) n
                   CROSS JOIN touched_strategies t
                   CROSS JOIN LATERAL (
                       -- OFFSET 0 keeps this a probe per pair: the planner, not knowing how
                       -- few strategies the notes name, would otherwise hash the whole table.
                       SELECT * FROM metrics m
                       WHERE m.name = n.name AND m.strategy_id = t.strategy_id AND m.completed
                       OFFSET 0) m';
    END IF;
    -- One statement, one snapshot: the notes taken are exactly those of the changes the
    -- recomputation sees (a note commits with its change).
    EXECUTE format($fold$
    WITH taken AS (
        DELETE FROM metric_summary_changes RETURNING strategy_id, dataset
    ), touched AS (
        SELECT DISTINCT strategy_id, dataset FROM taken
    ), touched_strategies AS (
        SELECT DISTINCT strategy_id FROM touched
    ), aggregated AS (
        -- Per data set and pooled in one pass.
        SELECT m.name, m.dataset, m.strategy_id, GROUPING(m.dataset) = 1 AS all_datasets,
               count(*) AS runs, avg(m.value) AS mean,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY m.value) AS median,
               min(m.value) AS lowest, max(m.value) AS highest
        FROM %s
        WHERE m.completed
        GROUP BY GROUPING SETS ((m.name, m.strategy_id, m.dataset), (m.name, m.strategy_id))
    ), per_dataset AS (
        SELECT a.* FROM aggregated a
        JOIN touched t ON t.strategy_id = a.strategy_id AND t.dataset = a.dataset
        WHERE NOT a.all_datasets
    ), pooled AS (
        SELECT * FROM aggregated
        WHERE all_datasets AND strategy_id IN (SELECT strategy_id FROM touched_strategies)
    ), upsert_per_dataset AS (
        INSERT INTO metric_summaries AS s
            SELECT name, dataset, strategy_id, runs, mean, median, lowest, highest
            FROM per_dataset
        ON CONFLICT (name, dataset, strategy_id) DO UPDATE
            SET runs = excluded.runs, mean = excluded.mean, median = excluded.median,
                lowest = excluded.lowest, highest = excluded.highest
        RETURNING 1
    ), upsert_pooled AS (
        INSERT INTO pooled_metric_summaries AS s
            SELECT name, strategy_id, runs, mean, median, lowest, highest FROM pooled
        ON CONFLICT (name, strategy_id) DO UPDATE
            SET runs = excluded.runs, mean = excluded.mean, median = excluded.median,
                lowest = excluded.lowest, highest = excluded.highest
        RETURNING 1
    ), emptied_per_dataset AS (
        -- Groups left without completed runs (deleted): rows no recomputation replaces.
        DELETE FROM metric_summaries s
        USING touched t
        WHERE s.strategy_id = t.strategy_id AND s.dataset = t.dataset
          AND NOT EXISTS (SELECT 1 FROM per_dataset p
                          WHERE (p.name, p.dataset, p.strategy_id)
                              = (s.name, s.dataset, s.strategy_id))
        RETURNING 1
    ), emptied_pooled AS (
        DELETE FROM pooled_metric_summaries s
        USING touched_strategies t
        WHERE s.strategy_id = t.strategy_id
          AND NOT EXISTS (SELECT 1 FROM pooled p
                          WHERE (p.name, p.strategy_id) = (s.name, s.strategy_id))
        RETURNING 1
    )
    SELECT count(*) FROM touched
    $fold$, source) INTO recomputed;
    RETURN recomputed;
END
$$;

-- Only writers (granted by `btdb db grant`) and the owner keep the summaries.
REVOKE EXECUTE ON FUNCTION btdb_summarize() FROM PUBLIC;

-- Roles granted before this migration received INSERT (writers) and DELETE (curators) on these
-- tables by default privileges; only the functions above may change them, so others read.
DO $$
DECLARE
    grantee text;
BEGIN
    FOR grantee IN
        SELECT DISTINCT g.grantee FROM information_schema.role_table_grants g
        WHERE g.table_schema = 'public'
          AND g.table_name IN ('metric_summaries', 'pooled_metric_summaries',
                               'metric_summary_changes')
          AND g.privilege_type <> 'SELECT'
          AND g.grantee NOT IN (current_user, 'PUBLIC')
    LOOP
        EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON metric_summaries, '
                       'pooled_metric_summaries, metric_summary_changes FROM %I', grantee);
    END LOOP;
END
$$;

-- The runs recorded before this migration: note every group, then fold them in.
INSERT INTO metric_summary_changes (strategy_id, dataset)
    SELECT DISTINCT strategy_id, dataset FROM metrics WHERE completed;
SELECT btdb_summarize();
