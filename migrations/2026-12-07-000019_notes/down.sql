DROP TRIGGER IF EXISTS sweeps_announce_change ON sweeps;
DROP INDEX runs_noted_id_idx;
ALTER TABLE sweeps DROP COLUMN note;
ALTER TABLE runs DROP COLUMN note;
