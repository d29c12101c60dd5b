-- Covering, partial index in value order. Serves `btdb rank --by best` (query/rank.rs): the top
-- strategies are the first distinct strategies met walking the metric's rows from the best
-- value, a few hundred index entries instead of one probe per strategy; and `rank --runs`, the
-- top runs. Only completed runs are ranked.
CREATE INDEX metrics_value_idx ON metrics (name, value DESC, strategy_id, run_id) WHERE completed;
