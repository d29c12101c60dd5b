-- A strategy's runs newest first, for listings of one strategy (`btdb runs --strategy`, the
-- web view's listing, and the typed streams of btdb.runs). runs_strategy_dataset_id_idx orders
-- by id within each data set only, so a page of a strategy on several data sets joined every
-- run of the strategy with its parents before sorting them: 62 ms for a page of 5,000 of
-- 10,000 runs, and more the more runs the strategy has. With this index the page is read in
-- order and the join stops at its end (7 ms).
CREATE INDEX runs_strategy_id_idx ON runs (strategy_id, id DESC);
