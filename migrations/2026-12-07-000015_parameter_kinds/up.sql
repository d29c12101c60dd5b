-- The kinds of value each strategy's parameters take, kept as parameter sets are written, so
-- that a listing in a typed format (Arrow, Parquet) decides its parameter columns from a few
-- rows instead of reading every parameter set it covers: 1.9 s for the 510,000 sets of a
-- million runs. A kind is jsonb_typeof's name, numbers split into `int` (written as an
-- integer of at most 18 digits) and `float`; nulls are not kinds. On Citus the triggers cannot
-- reach the coordinator: the table is not made there, or dropped when a database is
-- distributed (db/layout.rs), and listings read the parameter sets themselves.

CREATE FUNCTION btdb_parameter_kind(value jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE jsonb_typeof(value)
        WHEN 'number' THEN CASE WHEN value::text ~ '^-?[0-9]{1,18}$' THEN 'int' ELSE 'float' END
        ELSE jsonb_typeof(value)
    END
    $$;

-- New parameter sets add their kinds; a kind already there stays (concurrent writers of the
-- same strategy meet on the primary key). SECURITY DEFINER, as migration 12's notes: the kinds
-- are btdb's bookkeeping, and the writer role needs no privilege on them.
CREATE FUNCTION btdb_note_parameter_kinds() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
BEGIN
    INSERT INTO parameter_kinds (strategy_id, key, kind)
        SELECT DISTINCT n.strategy_id, e.key, btdb_parameter_kind(e.value)
        FROM new_rows n, jsonb_each(n.params) e
        WHERE jsonb_typeof(e.value) <> 'null'
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

-- Deleted parameter sets (delete --prune) may take a kind with them: the kinds of their
-- strategies are read again from the sets left.
CREATE FUNCTION btdb_forget_parameter_kinds() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
BEGIN
    DELETE FROM parameter_kinds k
        WHERE k.strategy_id IN (SELECT strategy_id FROM old_rows);
    INSERT INTO parameter_kinds (strategy_id, key, kind)
        SELECT DISTINCT p.strategy_id, e.key, btdb_parameter_kind(e.value)
        FROM parameter_sets p, jsonb_each(p.params) e
        WHERE p.strategy_id IN (SELECT strategy_id FROM old_rows)
          AND jsonb_typeof(e.value) <> 'null'
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

-- The table, its triggers and its rows on one server (see above for Citus).
DO $$
BEGIN
    IF to_regclass('run_keys') IS NOT NULL THEN
        RETURN;
    END IF;
    CREATE TABLE parameter_kinds (
        strategy_id bigint NOT NULL REFERENCES strategies (id) ON DELETE CASCADE,
        key         text   NOT NULL,
        kind        text   NOT NULL,
        PRIMARY KEY (strategy_id, key, kind)
    );
    CREATE TRIGGER parameter_sets_note_kinds AFTER INSERT ON parameter_sets
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION btdb_note_parameter_kinds();
    CREATE TRIGGER parameter_sets_forget_kinds AFTER DELETE ON parameter_sets
        REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION btdb_forget_parameter_kinds();
    INSERT INTO parameter_kinds (strategy_id, key, kind)
        SELECT DISTINCT p.strategy_id, e.key, btdb_parameter_kind(e.value)
        FROM parameter_sets p, jsonb_each(p.params) e
        WHERE jsonb_typeof(e.value) <> 'null';
END
$$;
