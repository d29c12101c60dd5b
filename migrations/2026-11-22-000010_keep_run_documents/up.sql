-- What `btdb export` needs, beyond the other columns, to write a run back as the document that
-- recorded it (same content hash): which metrics the document supplied, since the others were
-- computed from its curve and trades; and the strategy's name as this document spelled it,
-- where that differs from the strategy row's (names compare case-insensitively, so one row
-- serves every spelling). Both NULL for runs recorded before they were kept. Adding nullable
-- columns rewrites nothing.
ALTER TABLE runs ADD COLUMN supplied_metrics text[] CHECK (array_position(supplied_metrics, NULL) IS NULL);
ALTER TABLE runs ADD COLUMN strategy_spelling text;
