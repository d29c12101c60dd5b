-- Indexes for the run filters of `btdb runs`, `rank` and `compare` (query/filter.rs).

-- Partial: serves `--sweep NAME` (runs.sweep_id = $1); runs outside any sweep are left out.
CREATE INDEX runs_sweep_id_idx ON runs (sweep_id) WHERE sweep_id IS NOT NULL;

-- GIN: serves `--tag T` (runs.tags @> ARRAY[...]).
CREATE INDEX runs_tags_idx ON runs USING gin (tags);

-- Serves `--where 'params.k = v'` on run listings: the parameter sets the GIN index below finds,
-- then their runs.
CREATE INDEX runs_parameter_set_id_idx ON runs (parameter_set_id);

-- GIN with jsonb_path_ops (smaller and faster than the default for containment alone): serves
-- `--where 'params.k = v'`, which is `params @> '{"k": v}'`.
CREATE INDEX parameter_sets_params_idx ON parameter_sets USING gin (params jsonb_path_ops);
