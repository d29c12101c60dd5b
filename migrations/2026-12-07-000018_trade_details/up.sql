-- What a backtester says of each trade beside its prices (docs/run-document.md): the signal
-- that opened it (Freqtrade's `enter_tag`, backtesting.py's `tag`), why it closed
-- (Freqtrade's `exit_reason`: roi, stop_loss, exit_signal…) and its leverage. Nullable
-- columns on the partitioned parent: adding them rewrites no partition.
ALTER TABLE trades ADD COLUMN entry_tag text;
ALTER TABLE trades ADD COLUMN exit_reason text;
ALTER TABLE trades ADD COLUMN leverage numeric;
-- Checks apart from the columns: Citus adds no column with a constraint in one command.
ALTER TABLE trades ADD CONSTRAINT trades_leverage_check CHECK (leverage > 0);
