DROP TABLE parameter_sets;
