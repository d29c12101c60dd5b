-- The deflated Sharpe ratio's trials, kept with the `sharpe` summaries as the scores are: per
-- strategy and data set, and pooled, the parameter sets tried (N) and the sample variance of
-- their Sharpe ratios per period (V). A ranking with the deflated Sharpe ratio read them from
-- every run of its strategies: 10.5 of the 13 ms of a ranking page at 1,000,000 runs, for
-- 50,000 metric rows joined with their runs. It now reads a row per strategy, and counts them
-- from the runs only for the groups noted since the last fold (query/summary.rs).
--
-- NULL on the rows of other metrics, and on Citus, where the fold is db/layout.rs's and
-- rankings count the trials from the runs.
ALTER TABLE metric_summaries
    ADD COLUMN parameter_sets bigint,
    ADD COLUMN period_sharpe_variance double precision;
ALTER TABLE pooled_metric_summaries
    ADD COLUMN parameter_sets bigint,
    ADD COLUMN period_sharpe_variance double precision;

-- A stored Sharpe ratio per period: it is annualised by √periods_per_year. Ratios past ±2^480
-- count as ±2^480, so that var_samp's sum of squares cannot overflow and fail the fold (the
-- variance is then meaningless for that strategy, and no other). As query/rank.rs spells it.
CREATE FUNCTION btdb_period_sharpe(sharpe float8, periods_per_year float8) RETURNS float8
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE
        WHEN abs(sharpe) < 2::float8 ^ 480 * sqrt(periods_per_year)
            THEN sharpe / sqrt(periods_per_year)
        ELSE sign(sharpe) * 2::float8 ^ 480
    END
    $$;

DO $migration$
BEGIN
    IF to_regclass('run_keys') IS NOT NULL THEN
        RETURN;
    END IF;

    -- The trials read a run's periods per year, which btdb never changes once recorded: one
    -- changed behind its back is noted like a change of its metrics.
    CREATE FUNCTION btdb_note_period_changes() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    BEGIN
        INSERT INTO metric_summary_changes (strategy_id, dataset)
            VALUES (OLD.strategy_id, OLD.dataset), (NEW.strategy_id, NEW.dataset);
        RETURN NULL;
    END
    $$;
    CREATE TRIGGER runs_note_period_changes AFTER UPDATE OF periods_per_year ON runs
        FOR EACH ROW WHEN (OLD.periods_per_year IS DISTINCT FROM NEW.periods_per_year)
        EXECUTE FUNCTION btdb_note_period_changes();

    -- Migration 14's fold, with the trials: the sharpe rows of each touched strategy joined
    -- with their runs, a probe per strategy (LATERAL with OFFSET 0, as the fold's source of a
    -- few strategies is: 2 ms for two strategies of 1,000 runs, 0.96 s for every strategy of
    -- the benchmark's 1,000,000 runs).
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
    -- 1,011, against 0.05 s). Many (a delete across strategies, the first fold): every
    -- completed row in the index's order, which needs no sort of the whole table (11.8 s
    -- instead of 26 s with a hash join for the 16,000,000 rows of the benchmark data); groups
    -- recomputed without a note come out as they were, and only the noted ones are written.
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
               count(*) AS runs,
               btdb_mean(sum(btdb_mean_small(m.value)), sum(btdb_mean_big(m.value)), count(*),
                         min(m.value), max(m.value)) AS mean,
               btdb_median(percentile_disc(btdb_middle()) WITHIN GROUP (ORDER BY m.value))
                   AS median,
               min(m.value) AS lowest, max(m.value) AS highest
        FROM %s
        WHERE m.completed
        GROUP BY GROUPING SETS ((m.name, m.strategy_id, m.dataset), (m.name, m.strategy_id))
    ), trials AS (
        SELECT 'sharpe'::text AS name, m.dataset, m.strategy_id,
               GROUPING(m.dataset) = 1 AS all_datasets,
               count(DISTINCT m.parameter_set_id) AS parameter_sets,
               var_samp(m.period_sharpe) AS period_sharpe_variance
        FROM touched_strategies t
        CROSS JOIN LATERAL (
            SELECT m.dataset, m.strategy_id, m.parameter_set_id,
                   btdb_period_sharpe(m.value, r.periods_per_year) AS period_sharpe
            FROM metrics m JOIN runs r ON r.id = m.run_id
            WHERE m.name = 'sharpe' AND m.completed AND m.strategy_id = t.strategy_id
              AND r.strategy_id = t.strategy_id
            OFFSET 0) m
        GROUP BY GROUPING SETS ((m.strategy_id, m.dataset), (m.strategy_id))
    ), per_dataset AS (
        SELECT a.*, tr.parameter_sets, tr.period_sharpe_variance FROM aggregated a
        JOIN touched t ON t.strategy_id = a.strategy_id AND t.dataset = a.dataset
        LEFT JOIN trials tr ON NOT tr.all_datasets
            AND (tr.name, tr.strategy_id, tr.dataset) = (a.name, a.strategy_id, a.dataset)
        WHERE NOT a.all_datasets
    ), pooled AS (
        SELECT a.*, tr.parameter_sets, tr.period_sharpe_variance FROM aggregated a
        LEFT JOIN trials tr ON tr.all_datasets
            AND (tr.name, tr.strategy_id) = (a.name, a.strategy_id)
        WHERE a.all_datasets AND a.strategy_id IN (SELECT strategy_id FROM touched_strategies)
    ), upsert_per_dataset AS (
        INSERT INTO metric_summaries AS s (name, dataset, strategy_id, runs, mean, median,
                                           lowest, highest, parameter_sets,
                                           period_sharpe_variance)
            SELECT name, dataset, strategy_id, runs, mean, median, lowest, highest,
                   parameter_sets, period_sharpe_variance
            FROM per_dataset
        ON CONFLICT (name, dataset, strategy_id) DO UPDATE
            SET runs = excluded.runs, mean = excluded.mean, median = excluded.median,
                lowest = excluded.lowest, highest = excluded.highest,
                parameter_sets = excluded.parameter_sets,
                period_sharpe_variance = excluded.period_sharpe_variance
        RETURNING 1
    ), upsert_pooled AS (
        INSERT INTO pooled_metric_summaries AS s (name, strategy_id, runs, mean, median,
                                                  lowest, highest, parameter_sets,
                                                  period_sharpe_variance)
            SELECT name, strategy_id, runs, mean, median, lowest, highest, parameter_sets,
                   period_sharpe_variance
            FROM pooled
        ON CONFLICT (name, strategy_id) DO UPDATE
            SET runs = excluded.runs, mean = excluded.mean, median = excluded.median,
                lowest = excluded.lowest, highest = excluded.highest,
                parameter_sets = excluded.parameter_sets,
                period_sharpe_variance = excluded.period_sharpe_variance
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

    -- The trials of the runs recorded before: one pass over every sharpe row (1.2 s for the
    -- benchmark's 1,000,000 runs), rather than a fold of every summary.
    WITH trials AS (
        SELECT m.dataset, m.strategy_id, GROUPING(m.dataset) = 1 AS all_datasets,
               count(DISTINCT m.parameter_set_id) AS parameter_sets,
               var_samp(btdb_period_sharpe(m.value, r.periods_per_year)) AS variance
        FROM metrics m JOIN runs r ON r.id = m.run_id
        WHERE m.name = 'sharpe' AND m.completed
        GROUP BY GROUPING SETS ((m.strategy_id, m.dataset), (m.strategy_id))
    ), per_dataset AS (
        UPDATE metric_summaries s
        SET parameter_sets = t.parameter_sets, period_sharpe_variance = t.variance
        FROM trials t
        WHERE NOT t.all_datasets AND s.name = 'sharpe'
          AND (s.strategy_id, s.dataset) = (t.strategy_id, t.dataset)
        RETURNING 1
    )
    UPDATE pooled_metric_summaries s
    SET parameter_sets = t.parameter_sets, period_sharpe_variance = t.variance
    FROM trials t
    WHERE t.all_datasets AND s.name = 'sharpe' AND s.strategy_id = t.strategy_id;
END
$migration$;
