DO $$
DECLARE
    fold text := pg_get_functiondef('btdb_summarize()'::regprocedure);
BEGIN
    IF to_regclass('run_keys') IS NOT NULL THEN
        RETURN;
    END IF;
    EXECUTE replace(replace(fold,
        'btdb_mean(sum(btdb_mean_small(m.value)), sum(btdb_mean_big(m.value)), count(*), '
            'min(m.value), max(m.value)) AS mean',
        'avg(m.value) AS mean'),
        'btdb_median(percentile_disc(btdb_middle()) WITHIN GROUP (ORDER BY m.value)) AS median',
        'percentile_cont(0.5) WITHIN GROUP (ORDER BY m.value) AS median');
END
$$;
DROP FUNCTION btdb_median(float8[]);
DROP FUNCTION btdb_middle();
DROP FUNCTION btdb_mean(float8, float8, bigint, float8, float8);
DROP FUNCTION btdb_mean_big(float8);
DROP FUNCTION btdb_mean_small(float8);
