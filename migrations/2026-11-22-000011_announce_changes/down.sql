DROP TRIGGER metrics_announce_change ON metrics;
DROP TRIGGER runs_announce_change ON runs;
DROP FUNCTION btdb_announce_change();
