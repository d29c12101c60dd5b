DROP TABLE metric_directions;
DROP TABLE intermediate_values;
DROP INDEX runs_pruned_id_idx;
ALTER TABLE runs DROP CONSTRAINT runs_trial_times_check;
ALTER TABLE runs DROP COLUMN search_space;
ALTER TABLE runs DROP COLUMN directions;
ALTER TABLE runs DROP COLUMN finished_at;
ALTER TABLE runs DROP COLUMN started_at;
ALTER TABLE runs DROP COLUMN trial;
-- Pruned runs were not ranked; as failed runs they still are not, and nothing is lost.
UPDATE runs SET status = 'failed' WHERE status = 'pruned';
ALTER TABLE runs DROP CONSTRAINT runs_status_check;
ALTER TABLE runs ADD CONSTRAINT runs_status_check CHECK (status IN ('completed', 'failed'));
