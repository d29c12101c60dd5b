-- Means and medians that no finite value can make fail. avg(float8) raises "value out of
-- range: overflow" once its running sum, or the sum of squares it also keeps, passes 1.8e308:
-- one run with a metric of 1e308 stopped every ranking by mean of its strategy, and the fold
-- of the summaries with it, for everyone. percentile_cont(0.5) returns infinity when the two
-- middle values are far apart across zero. These give the same answers wherever those did
-- not fail, and a finite answer wherever they did. Used by the fold here, by rankings that
-- aggregate noted groups (query/rank.rs) and by the fold on Citus (db/layout.rs), as
-- db/aggregate.rs spells them.

-- The values a mean sums as they are: below 2^900 in magnitude, 2^63 of them cannot overflow.
-- Inlined by the planner (a plain SQL expression), so no call per row.
CREATE FUNCTION btdb_mean_small(value float8) RETURNS float8
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN abs(value) < 2::float8 ^ 900 THEN value END $$;

-- The others, scaled by 2^-200 (exact for such magnitudes), so that their sum cannot overflow.
CREATE FUNCTION btdb_mean_big(value float8) RETURNS float8
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN abs(value) >= 2::float8 ^ 900 THEN value * 2::float8 ^ -200 END $$;

-- The mean from those two sums. Without big values it is small / runs, as avg computes it.
-- With them, the big part is scaled back after dividing, kept within the values' range first
-- (its rounding could otherwise step past the largest float), and the mean within the lowest
-- and highest value, where a mean lies.
CREATE FUNCTION btdb_mean(small float8, big float8, runs bigint, lowest float8, highest float8)
    RETURNS float8
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE
        WHEN big IS NULL THEN small / runs
        ELSE greatest(lowest, least(highest,
                 coalesce(small / runs, 0)
                 + greatest(least(lowest, 0) * 2::float8 ^ -200,
                            least(greatest(highest, 0) * 2::float8 ^ -200, big / runs))
                   * 2::float8 ^ 200))
    END
    $$;

-- The ranks percentile_disc is asked for to give the two middle values of n sorted values
-- from one sort: 0.5 gives the lower middle, rank ceil(n/2); 0.5 + 2^-40 the upper middle,
-- rank floor(n/2) + 1 (the same value when n is odd), for any n below 2^39.
CREATE FUNCTION btdb_middle() RETURNS float8[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT ARRAY[0.5, 0.5 + 2::float8 ^ -40] $$;

-- The median from the two middle values: as percentile_cont(0.5) interpolates where the
-- difference cannot overflow, else from the halves, which cannot.
CREATE FUNCTION btdb_median(middle float8[]) RETURNS float8
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE
        WHEN abs(middle[1]) < 2::float8 ^ 1022 AND abs(middle[2]) < 2::float8 ^ 1022
            THEN middle[1] + 0.5 * (middle[2] - middle[1])
        ELSE middle[1] * 0.5 + middle[2] * 0.5
    END
    $$;

-- Migration 12's fold with its two aggregates replaced, on one server (on Citus, btdb db
-- migrate defines the fold of db/layout.rs). The replaced text must be there: a fold changed
-- since would otherwise keep failing unnoticed.
DO $$
DECLARE
    fold text := pg_get_functiondef('btdb_summarize()'::regprocedure);
    replaced text;
BEGIN
    IF to_regclass('run_keys') IS NOT NULL THEN
        RETURN;
    END IF;
    replaced := replace(replace(fold,
        'avg(m.value) AS mean',
        'btdb_mean(sum(btdb_mean_small(m.value)), sum(btdb_mean_big(m.value)), count(*), '
            'min(m.value), max(m.value)) AS mean'),
        'percentile_cont(0.5) WITHIN GROUP (ORDER BY m.value) AS median',
        'btdb_median(percentile_disc(btdb_middle()) WITHIN GROUP (ORDER BY m.value)) AS median');
    IF replaced = fold OR replaced LIKE '%avg(m.value)%' OR replaced LIKE '%percentile_cont%' THEN
        RAISE EXCEPTION 'btdb_summarize() is not the fold of migration 12';
    END IF;
    EXECUTE replaced;
END
$$;
