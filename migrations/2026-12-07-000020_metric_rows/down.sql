DROP FUNCTION btdb_fill_metric_rows();
ALTER TABLE runs DROP COLUMN metric_values;
ALTER TABLE runs DROP COLUMN metric_set_id;
DROP TABLE metric_sets;
