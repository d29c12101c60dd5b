//! The mean and median of a float column as every query that aggregates metric values spells
//! them: through migration 14's functions, which no finite value can make fail (avg overflows
//! past 1.8e308 and stopped every ranking of a strategy with one extreme run). Macros, so that
//! the text is a literal that `concat!` builds into the fold on Citus (layout.rs) and the
//! rankings' static SQL (query/rank.rs).

/// The mean of `$column` over the group, as `avg` computes it wherever `avg` does not fail.
macro_rules! mean_of {
    ($column:literal) => {
        concat!(
            "btdb_mean(sum(btdb_mean_small(",
            $column,
            ")), sum(btdb_mean_big(",
            $column,
            ")), count(*), min(",
            $column,
            "), max(",
            $column,
            "))"
        )
    };
}

/// The median of `$column` over the group, as `percentile_cont(0.5)` computes it wherever
/// that is finite, from the two middle values of one sort.
macro_rules! median_of {
    ($column:literal) => {
        concat!(
            "btdb_median(percentile_disc(btdb_middle()) WITHIN GROUP (ORDER BY ",
            $column,
            "))"
        )
    };
}

pub(crate) use {mean_of, median_of};

#[cfg(test)]
mod tests {
    /// The text migration 14 puts into the fold on one server, where it cannot use these.
    #[test]
    fn the_migration_spells_the_fold_s_aggregates_as_these_do() {
        let migration =
            include_str!("../../migrations/2026-12-06-000014_aggregate_any_value/up.sql");
        let squeeze = |s: &str| s.split_whitespace().collect::<String>().replace("''", "");
        let migration = squeeze(migration);
        for aggregate in [mean_of!("m.value"), median_of!("m.value")] {
            assert!(
                migration.contains(&squeeze(aggregate)),
                "{aggregate} is not in migration 14"
            );
        }
    }
}
