-- Every statement that adds, changes or removes runs announces it on the channel
-- `btdb_changes` when its transaction commits, whoever runs it (btdb record, btdb delete,
-- psql): `btdb serve` listens and drops the answers it has cached. A statement-level trigger
-- costs one call per statement, not per row, and no round trip.
CREATE FUNCTION btdb_announce_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('btdb_changes', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER runs_announce_change
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON runs
    FOR EACH STATEMENT EXECUTE FUNCTION btdb_announce_change();

-- Metrics are written with their run, but a change to them alone changes rankings too.
CREATE TRIGGER metrics_announce_change
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON metrics
    FOR EACH STATEMENT EXECUTE FUNCTION btdb_announce_change();
