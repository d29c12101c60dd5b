DROP INDEX parameter_sets_params_idx;
DROP INDEX runs_parameter_set_id_idx;
DROP INDEX runs_tags_idx;
DROP INDEX runs_sweep_id_idx;
