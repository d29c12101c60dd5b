ALTER TABLE trades DROP COLUMN leverage;
ALTER TABLE trades DROP COLUMN exit_reason;
ALTER TABLE trades DROP COLUMN entry_tag;
