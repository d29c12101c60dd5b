DROP INDEX metrics_value_idx;
