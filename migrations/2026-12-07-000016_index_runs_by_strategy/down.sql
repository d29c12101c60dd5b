DROP INDEX runs_strategy_id_idx;
