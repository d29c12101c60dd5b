DROP TRIGGER IF EXISTS parameter_sets_note_kinds ON parameter_sets;
DROP TRIGGER IF EXISTS parameter_sets_forget_kinds ON parameter_sets;
DROP FUNCTION btdb_note_parameter_kinds();
DROP FUNCTION btdb_forget_parameter_kinds();
DROP TABLE IF EXISTS parameter_kinds;
DROP FUNCTION btdb_parameter_kind(jsonb);
