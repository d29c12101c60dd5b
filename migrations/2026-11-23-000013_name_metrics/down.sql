DROP VIEW metric_names;
