//! `metric_sets`: the distinct lists of metric names, each sorted bytewise, in whose order a
//! run keeps its metric values (`runs.metric_values`, migration 20).

use std::collections::HashMap;
use std::sync::Arc;

use diesel::pg::Pg;
use diesel::prelude::*;
use serde::ser::{Serialize, SerializeMap, Serializer};

use super::MetricSetId;
use crate::schema::metric_sets;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = metric_sets, check_for_backend(diesel::pg::Pg))]
pub struct MetricSet {
    pub id: MetricSetId,
    pub names: Vec<String>,
}

impl MetricSet {
    /// The ids of the sets `lists` (each sorted bytewise), created where missing, by list.
    /// Committed before the runs' transaction like the runs' other parents, so that no
    /// recorder holds a set's lock while it writes runs.
    pub fn find_or_create_all(
        conn: &mut PgConnection,
        lists: &[&[String]],
    ) -> QueryResult<HashMap<Vec<String>, MetricSetId>> {
        let mut lists: Vec<Vec<String>> = lists.iter().map(|l| l.to_vec()).collect();
        lists.sort_unstable();
        lists.dedup();
        let find = |conn: &mut PgConnection, lists: &[Vec<String>]| {
            metric_sets::table
                .filter(metric_sets::names.eq_any(lists.to_vec()))
                .select((metric_sets::names, metric_sets::id))
                .load::<(Vec<String>, MetricSetId)>(conn)
        };
        let mut found: HashMap<Vec<String>, MetricSetId> =
            find(conn, &lists)?.into_iter().collect();
        let missing: Vec<Vec<String>> = lists
            .iter()
            .filter(|l| !found.contains_key(*l))
            .cloned()
            .collect();
        if !missing.is_empty() {
            let rows: Vec<_> = missing
                .iter()
                .map(|names| metric_sets::names.eq(names))
                .collect();
            let created: Vec<(Vec<String>, MetricSetId)> = diesel::insert_into(metric_sets::table)
                .values(&rows)
                .on_conflict(metric_sets::names)
                .do_nothing()
                .returning((metric_sets::names, metric_sets::id))
                .get_results(conn)?;
            found.extend(created);
            // Created by another recorder meanwhile: there to be found now.
            let raced: Vec<Vec<String>> = missing
                .into_iter()
                .filter(|l| !found.contains_key(l))
                .collect();
            if !raced.is_empty() {
                found.extend(find(conn, &raced)?);
            }
        }
        Ok(found)
    }

    /// Every set: a few per strategy.
    pub fn all() -> diesel::dsl::Select<metric_sets::table, diesel::dsl::AsSelect<MetricSet, Pg>> {
        metric_sets::table.select(MetricSet::as_select())
    }

    /// The sets `ids`.
    pub fn by_ids(
        ids: Vec<MetricSetId>,
    ) -> metric_sets::BoxedQuery<
        'static,
        Pg,
        diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<MetricSet, Pg>>,
    > {
        metric_sets::table
            .filter(metric_sets::id.eq_any(ids))
            .select(MetricSet::as_select())
            .into_boxed()
    }
}

/// A run's metrics as listings show them: the names of its set, shared by every run read with
/// that set, and the run's values in their order. Looked up by name, and written to JSON as
/// an object in name order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunMetrics {
    names: Arc<[String]>,
    values: Vec<f64>,
}

impl RunMetrics {
    /// `names` sorted bytewise and `values` in their order; a name without a value is left
    /// out.
    pub fn new(names: Arc<[String]>, mut values: Vec<f64>) -> Self {
        values.truncate(names.len());
        Self { names, values }
    }

    pub fn get(&self, name: &str) -> Option<f64> {
        let at = Self::position(&self.names[..self.values.len()], name)?;
        Some(self.values[at])
    }

    /// Where `name` is among `names`, sorted bytewise as a set's are.
    pub fn position(names: &[String], name: &str) -> Option<usize> {
        names
            .binary_search_by(|n| n.as_bytes().cmp(name.as_bytes()))
            .ok()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Name and value, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, f64)> {
        self.names.iter().zip(self.values.iter().copied())
    }

    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.names.iter().take(self.values.len())
    }

    /// The shared list of names: the same `Arc` for every run read with the same set, so
    /// that a table maps the set's names to its columns once.
    pub fn shared_names(&self) -> &Arc<[String]> {
        &self.names
    }

    pub fn values(&self) -> &[f64] {
        &self.values
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl<N: Into<String>> FromIterator<(N, f64)> for RunMetrics {
    fn from_iter<I: IntoIterator<Item = (N, f64)>>(pairs: I) -> Self {
        let sorted: std::collections::BTreeMap<String, f64> =
            pairs.into_iter().map(|(n, v)| (n.into(), v)).collect();
        let (names, values): (Vec<String>, Vec<f64>) = sorted.into_iter().unzip();
        Self::new(names.into(), values)
    }
}

impl Serialize for RunMetrics {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (name, value) in self.iter() {
            map.serialize_entry(name, &value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::RunMetrics;

    #[test]
    fn metrics_are_found_by_name_in_bytewise_order() {
        let metrics: RunMetrics = [("sharpe", 1.5), ("Zeta", 2.0), ("cagr", 0.1)]
            .into_iter()
            .collect();
        let names: Vec<&String> = metrics.names().collect();
        assert_eq!(names, ["Zeta", "cagr", "sharpe"], "uppercase sorts first");
        assert_eq!(metrics.get("sharpe"), Some(1.5));
        assert_eq!(metrics.get("Zeta"), Some(2.0));
        assert_eq!(metrics.get("zeta"), None);
        assert_eq!(
            serde_json::to_string(&metrics).unwrap(),
            r#"{"Zeta":2.0,"cagr":0.1,"sharpe":1.5}"#
        );
    }

    #[test]
    fn a_name_without_a_value_is_not_found() {
        let metrics = RunMetrics::new(vec!["a".to_owned(), "b".to_owned()].into(), vec![1.0]);
        assert_eq!(metrics.get("b"), None);
        assert_eq!(metrics.len(), 1);
        assert_eq!(metrics.iter().count(), 1);
    }
}
