ALTER TABLE runs DROP COLUMN strategy_spelling;
ALTER TABLE runs DROP COLUMN supplied_metrics;
