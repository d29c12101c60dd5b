DO $migration$
BEGIN
    IF to_regclass('run_keys') IS NOT NULL THEN
        RETURN;
    END IF;
    DROP TRIGGER runs_note_period_changes ON runs;
    DROP FUNCTION btdb_note_period_changes();
    -- Migration 14's fold.
    EXECUTE $create$
CREATE OR REPLACE FUNCTION btdb_summarize() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $function$
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
               count(*) AS runs, btdb_mean(sum(btdb_mean_small(m.value)), sum(btdb_mean_big(m.value)), count(*), min(m.value), max(m.value)) AS mean,
               btdb_median(percentile_disc(btdb_middle()) WITHIN GROUP (ORDER BY m.value)) AS median,
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
$function$
$create$;
END
$migration$;
DROP FUNCTION btdb_period_sharpe(float8, float8);
ALTER TABLE pooled_metric_summaries
    DROP COLUMN period_sharpe_variance,
    DROP COLUMN parameter_sets;
ALTER TABLE metric_summaries
    DROP COLUMN period_sharpe_variance,
    DROP COLUMN parameter_sets;
