-- The distinct metric names of completed runs, for suggestions and checks of typed names: a
-- loose index scan that probes metrics_rank_idx once per name rather than reading every row
-- (PostgreSQL has no skip scan). A view, so that a Citus layout can answer it its own way
-- (btdb db migrate replaces it there: a recursive CTE over a distributed table is refused).
CREATE VIEW metric_names AS
WITH RECURSIVE names(name) AS (
    (SELECT name FROM metrics WHERE completed ORDER BY name LIMIT 1)
    UNION ALL
    SELECT (SELECT m.name FROM metrics m
            WHERE m.completed AND m.name > names.name ORDER BY m.name LIMIT 1)
    FROM names WHERE names.name IS NOT NULL
)
SELECT name FROM names WHERE name IS NOT NULL;
