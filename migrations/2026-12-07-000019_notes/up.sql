-- A note an analyst writes on a run or a sweep (`btdb note`, the run and strategy pages):
-- what was tried, why a run is suspect. Not part of the run document: writing one changes no
-- key and no content hash, and `btdb export` leaves it out. Nullable columns: adding them
-- rewrites nothing.
ALTER TABLE runs ADD COLUMN note text;
ALTER TABLE runs ADD CONSTRAINT runs_note_check CHECK (char_length(note) BETWEEN 1 AND 10000);
ALTER TABLE sweeps ADD COLUMN note text;
ALTER TABLE sweeps ADD CONSTRAINT sweeps_note_check
    CHECK (char_length(note) BETWEEN 1 AND 10000);

-- Partial: serves `--note TEXT` (a search of the notes), which reads the noted runs only, a
-- few among many; a case-insensitive match implies a note, so the planner may use it.
CREATE INDEX runs_noted_id_idx ON runs (id DESC) WHERE note IS NOT NULL;

-- A sweep's note is shown by the strategy page: writing one drops `btdb serve`'s kept
-- answers, as a change to runs does. On a database already distributed, nothing announces
-- changes (db/layout.rs), and the function is gone.
DO $$
BEGIN
    IF to_regclass('run_keys') IS NULL THEN
        CREATE TRIGGER sweeps_announce_change
            AFTER UPDATE ON sweeps
            FOR EACH STATEMENT EXECUTE FUNCTION btdb_announce_change();
    END IF;
END
$$;
