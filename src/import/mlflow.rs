//! An MLflow tracking store (its PostgreSQL or SQLite database, read directly) as run
//! documents, for `btdb import mlflow`: one run per active MLflow run, read in six queries
//! whatever the number of runs. docs/importing.md maps every field.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, SecondsFormat};
use diesel::sql_types::{Array, BigInt, Bool, Double, Integer, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::{Map, Value, json};

use super::{NO_DATASET, Read, metric_name, not_finite_word};

/// What to read of the store, and how its runs become btdb's.
#[derive(Debug, Clone, Default)]
pub struct MlflowOptions {
    /// Only these experiments (all active ones when empty).
    pub experiments: Vec<String>,
    /// The tag whose value names the strategy; the experiment's name when `None` or absent.
    pub strategy_tag: Option<String>,
    /// The tag (else the parameter) whose value names the data set.
    pub dataset_tag: String,
    pub sweep: Option<String>,
}

/// Where an MLflow store's database is: PostgreSQL, or a SQLite file (MLflow's default store,
/// `sqlite:///mlflow.db`).
pub use super::Database as Store;

/// A tracking URI as MLflow writes it (`postgresql://`, `postgresql+psycopg2://`,
/// `sqlite:///mlflow.db`, …) as the database btdb reads.
pub fn store(tracking_uri: &str) -> Result<Store> {
    let Some((scheme, rest)) = tracking_uri.split_once("://") else {
        bail!(
            "--tracking-uri `{tracking_uri}` is no URI; give the store's database, e.g. \
             postgresql://user@host/mlflow or sqlite:///mlflow.db"
        );
    };
    if let Some(database) = super::sqlalchemy_database(scheme, rest) {
        return database.map_err(|e| anyhow::anyhow!("--tracking-uri `{tracking_uri}` {e}"));
    }
    match scheme.split('+').next().unwrap_or_default() {
        driver @ ("mysql" | "mssql") => {
            bail!("--tracking-uri: btdb reads MLflow stores in PostgreSQL or SQLite, not {driver}")
        }
        "http" | "https" | "file" | "databricks" => bail!(
            "--tracking-uri `{scheme}://…` is an MLflow server or file store; btdb reads the \
             store's database itself (the URI the server was started with as \
             --backend-store-uri)"
        ),
        other => bail!("--tracking-uri: `{other}` is not a database btdb reads"),
    }
}

#[derive(diesel::QueryableByName)]
struct StoreTables {
    #[diesel(sql_type = Bool)]
    is_store: bool,
}

#[derive(diesel::QueryableByName)]
struct Experiment {
    #[diesel(sql_type = Integer)]
    experiment_id: i32,
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(diesel::QueryableByName)]
struct RunRow {
    #[diesel(sql_type = Text)]
    run_uuid: String,
    #[diesel(sql_type = Integer)]
    experiment_id: i32,
    #[diesel(sql_type = Nullable<Text>)]
    name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    status: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    start_time: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    end_time: Option<i64>,
}

#[derive(diesel::QueryableByName)]
struct KeyValue {
    #[diesel(sql_type = Text)]
    run_uuid: String,
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = Nullable<Text>)]
    value: Option<String>,
}

#[derive(diesel::QueryableByName)]
struct LatestMetric {
    #[diesel(sql_type = Text)]
    run_uuid: String,
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = Double)]
    value: f64,
    #[diesel(sql_type = Bool)]
    is_nan: bool,
}

/// What a store holds of the chosen experiments, read from either kind of database.
struct Tables {
    experiments: Vec<Experiment>,
    runs: Vec<RunRow>,
    params: Vec<KeyValue>,
    tags: Vec<KeyValue>,
    metrics: Vec<LatestMetric>,
}

const NOT_A_STORE: &str = "not an MLflow tracking store: the database has no experiments, \
     runs, params, latest_metrics and tags tables";

/// The active experiments `wanted` names (all when it names none).
fn choose(active: Vec<Experiment>, wanted: &[String]) -> Result<Vec<Experiment>> {
    super::choose(
        active,
        wanted,
        |e| &e.name,
        "--experiment: the store has no active experiment",
    )
}

/// Reads a PostgreSQL store's active runs of the chosen experiments, in six queries whatever
/// their number.
pub async fn read(conn: &mut AsyncPgConnection, options: &MlflowOptions) -> Result<Read> {
    let store: StoreTables = diesel::sql_query(
        "SELECT to_regclass('experiments') IS NOT NULL AND to_regclass('runs') IS NOT NULL \
         AND to_regclass('latest_metrics') IS NOT NULL AND to_regclass('params') IS NOT NULL \
         AND to_regclass('tags') IS NOT NULL AND to_regclass('alembic_version') IS NOT NULL \
         AS is_store",
    )
    .get_result(conn)
    .await
    .context("looking for MLflow's tables")?;
    if !store.is_store {
        bail!(NOT_A_STORE);
    }
    let active: Vec<Experiment> = diesel::sql_query(
        "SELECT experiment_id, name FROM experiments WHERE lifecycle_stage = 'active' \
         ORDER BY experiment_id",
    )
    .load(conn)
    .await
    .context("reading MLflow's experiments")?;
    let experiments = choose(active, &options.experiments)?;
    let ids: Vec<i32> = experiments.iter().map(|e| e.experiment_id).collect();
    let runs: Vec<RunRow> = diesel::sql_query(
        "SELECT run_uuid, experiment_id, name, status, start_time, end_time FROM runs \
         WHERE lifecycle_stage = 'active' AND experiment_id = ANY($1) \
         ORDER BY start_time, run_uuid",
    )
    .bind::<Array<Integer>, _>(&ids)
    .load(conn)
    .await
    .context("reading MLflow's runs")?;
    let uuids: Vec<&str> = runs.iter().map(|r| r.run_uuid.as_str()).collect();
    let params: Vec<KeyValue> = diesel::sql_query(
        "SELECT run_uuid, key, value FROM params WHERE run_uuid = ANY($1) ORDER BY key",
    )
    .bind::<Array<Text>, _>(&uuids)
    .load(conn)
    .await
    .context("reading MLflow's params")?;
    let tags: Vec<KeyValue> = diesel::sql_query(
        "SELECT run_uuid, key, value FROM tags WHERE run_uuid = ANY($1) ORDER BY key",
    )
    .bind::<Array<Text>, _>(&uuids)
    .load(conn)
    .await
    .context("reading MLflow's tags")?;
    let metrics: Vec<LatestMetric> = diesel::sql_query(
        "SELECT run_uuid, key, value, is_nan FROM latest_metrics WHERE run_uuid = ANY($1) \
         ORDER BY key",
    )
    .bind::<Array<Text>, _>(&uuids)
    .load(conn)
    .await
    .context("reading MLflow's metrics")?;
    Ok(convert(
        Tables {
            experiments,
            runs,
            params,
            tags,
            metrics,
        },
        options,
    ))
}

/// Reads a SQLite store (opened read-only) as `read` does a PostgreSQL one.
pub fn read_sqlite(path: &Path, options: &MlflowOptions) -> Result<Read> {
    let conn = super::open_sqlite(
        path,
        &[
            "experiments",
            "runs",
            "params",
            "latest_metrics",
            "tags",
            "alembic_version",
        ],
        NOT_A_STORE,
    )?;
    let all = |sql: &str| -> Result<Vec<Vec<rusqlite::types::Value>>> {
        Ok(super::sqlite_rows(&conn, sql)?)
    };
    use rusqlite::types::Value as V;
    let text = |v: &V| match v {
        V::Text(t) => Some(t.clone()),
        V::Integer(i) => Some(i.to_string()),
        V::Real(r) => Some(r.to_string()),
        _ => None,
    };
    let int = |v: &V| match v {
        V::Integer(i) => Some(*i),
        _ => None,
    };
    let active: Vec<Experiment> = all(
        "SELECT experiment_id, name FROM experiments WHERE lifecycle_stage = 'active' \
         ORDER BY experiment_id",
    )
    .context("reading MLflow's experiments")?
    .iter()
    .map(|r| Experiment {
        experiment_id: int(&r[0]).unwrap_or_default() as i32,
        name: text(&r[1]).unwrap_or_default(),
    })
    .collect();
    let experiments = choose(active, &options.experiments)?;
    let ids: Vec<i32> = experiments.iter().map(|e| e.experiment_id).collect();
    let runs: Vec<RunRow> = all(
        "SELECT run_uuid, experiment_id, name, status, start_time, end_time FROM runs \
         WHERE lifecycle_stage = 'active' ORDER BY start_time, run_uuid",
    )
    .context("reading MLflow's runs")?
    .iter()
    .map(|r| RunRow {
        run_uuid: text(&r[0]).unwrap_or_default(),
        experiment_id: int(&r[1]).unwrap_or_default() as i32,
        name: text(&r[2]),
        status: text(&r[3]),
        start_time: int(&r[4]),
        end_time: int(&r[5]),
    })
    .filter(|r| ids.contains(&r.experiment_id))
    .collect();
    let wanted: std::collections::HashSet<&str> =
        runs.iter().map(|r| r.run_uuid.as_str()).collect();
    let key_values = |sql: &str, what: &str| -> Result<Vec<KeyValue>> {
        Ok(all(sql)
            .with_context(|| format!("reading MLflow's {what}"))?
            .iter()
            .map(|r| KeyValue {
                run_uuid: text(&r[0]).unwrap_or_default(),
                key: text(&r[1]).unwrap_or_default(),
                value: text(&r[2]),
            })
            .filter(|kv| wanted.contains(kv.run_uuid.as_str()))
            .collect())
    };
    let params = key_values(
        "SELECT run_uuid, key, value FROM params ORDER BY key",
        "params",
    )?;
    let tags = key_values("SELECT run_uuid, key, value FROM tags ORDER BY key", "tags")?;
    let metrics: Vec<LatestMetric> =
        all("SELECT run_uuid, key, value, is_nan FROM latest_metrics ORDER BY key")
            .context("reading MLflow's metrics")?
            .iter()
            .map(|r| {
                let value = match &r[2] {
                    V::Real(v) => Some(*v),
                    V::Integer(i) => Some(*i as f64),
                    _ => None,
                };
                LatestMetric {
                    run_uuid: text(&r[0]).unwrap_or_default(),
                    key: text(&r[1]).unwrap_or_default(),
                    // SQLite holds no NaN: MLflow stores it as is_nan beside a stand-in value.
                    is_nan: int(&r[3]).is_some_and(|n| n != 0) || value.is_none(),
                    value: value.unwrap_or(f64::NAN),
                }
            })
            .filter(|m| wanted.contains(m.run_uuid.as_str()))
            .collect();
    Ok(convert(
        Tables {
            experiments,
            runs,
            params,
            tags,
            metrics,
        },
        options,
    ))
}

/// The runs of the tables as run documents.
fn convert(tables: Tables, options: &MlflowOptions) -> Read {
    let Tables {
        experiments,
        runs,
        params,
        tags,
        metrics,
    } = tables;
    let names: HashMap<i32, &str> = experiments
        .iter()
        .map(|e| (e.experiment_id, e.name.as_str()))
        .collect();
    let mut by_run: HashMap<&str, Owned> = HashMap::new();
    for p in &params {
        by_run
            .entry(p.run_uuid.as_str())
            .or_default()
            .params
            .push(p);
    }
    for t in &tags {
        by_run.entry(t.run_uuid.as_str()).or_default().tags.push(t);
    }
    for m in &metrics {
        by_run
            .entry(m.run_uuid.as_str())
            .or_default()
            .metrics
            .push(m);
    }
    let mut read = Read::default();
    for run in &runs {
        let status = match run.status.as_deref() {
            Some("FINISHED") => "completed",
            Some("FAILED" | "KILLED") => "failed",
            _ => {
                *read.unfinished.entry("unfinished run").or_default() += 1;
                continue;
            }
        };
        let owned = by_run.remove(run.run_uuid.as_str()).unwrap_or_default();
        let experiment = names.get(&run.experiment_id).copied().unwrap_or_default();
        let document = document(run, experiment, status, &owned, options, &mut read);
        read.documents.push(document);
    }
    read
}

/// What the store holds of one run beside its row.
#[derive(Default)]
struct Owned<'a> {
    params: Vec<&'a KeyValue>,
    tags: Vec<&'a KeyValue>,
    metrics: Vec<&'a LatestMetric>,
}

fn document(
    run: &RunRow,
    experiment: &str,
    status: &str,
    owned: &Owned,
    options: &MlflowOptions,
    read: &mut Read,
) -> Value {
    let Owned {
        params,
        tags,
        metrics,
    } = owned;
    let tag = |name: &str| {
        tags.iter()
            .find(|t| t.key == name)
            .and_then(|t| t.value.clone())
            .filter(|v| !v.is_empty())
    };
    let strategy = options
        .strategy_tag
        .as_deref()
        .and_then(tag)
        .unwrap_or_else(|| experiment.to_owned());
    let dataset = tag(&options.dataset_tag)
        .or_else(|| {
            params
                .iter()
                .find(|p| p.key == options.dataset_tag)
                .and_then(|p| p.value.clone())
        })
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| NO_DATASET.to_owned());
    let mut doc_params = Map::new();
    for p in params {
        if p.key != options.dataset_tag {
            doc_params.insert(p.key.clone(), param(p.value.as_deref().unwrap_or_default()));
        }
    }
    let mut doc_metrics = Map::new();
    for m in metrics {
        if m.is_nan || !m.value.is_finite() {
            let word = not_finite_word(if m.is_nan { f64::NAN } else { m.value });
            read.not_finite
                .push((run.run_uuid.clone(), m.key.clone(), word));
            continue;
        }
        let name = metric_name(&m.key);
        if name != m.key {
            read.renamed.insert(m.key.clone(), name.clone());
        }
        doc_metrics.insert(name, json!(m.value));
    }
    // User tags as `key=value`; MLflow's own (mlflow.*) say where the run came from, and its
    // name and times are kept as tags of their own.
    let mut doc_tags: Vec<String> = tags
        .iter()
        .filter(|t| !t.key.starts_with("mlflow.") && t.key != options.dataset_tag)
        .filter(|t| Some(t.key.as_str()) != options.strategy_tag.as_deref())
        .map(|t| format!("{}={}", t.key, t.value.as_deref().unwrap_or_default()))
        .collect();
    if let Some(name) = &run.name {
        doc_tags.push(format!("mlflow.run_name={name}"));
    }
    for (label, time) in [("start_time", run.start_time), ("end_time", run.end_time)] {
        if let Some(time) = time.and_then(DateTime::from_timestamp_millis) {
            doc_tags.push(format!(
                "mlflow.{label}={}",
                time.to_rfc3339_opts(SecondsFormat::Millis, true)
            ));
        }
    }
    doc_tags.retain(|t| t.chars().count() <= 200 && !t.chars().any(char::is_control));
    let mut doc = Map::new();
    doc.insert("run_key".into(), json!(format!("mlflow:{}", run.run_uuid)));
    doc.insert("strategy".into(), json!(strategy));
    doc.insert("dataset".into(), json!(dataset));
    doc.insert("params".into(), Value::Object(doc_params));
    doc.insert("status".into(), json!(status));
    doc.insert("tags".into(), json!(doc_tags));
    if let Some(sweep) = &options.sweep {
        doc.insert("sweep".into(), json!(sweep));
    }
    doc.insert("metrics".into(), Value::Object(doc_metrics));
    Value::Object(doc)
}

/// An MLflow parameter (always text there) as the run document's value: a number when it reads
/// as one (`10`, `0.5`, `1e-3`), a boolean for `true`/`false` in any case (Python writes
/// `True`), the text otherwise.
fn param(text: &str) -> Value {
    if let Ok(Value::Number(n)) = serde_json::from_str::<Value>(text) {
        return Value::Number(n);
    }
    match text.to_ascii_lowercase().as_str() {
        "true" => json!(true),
        "false" => json!(false),
        _ => json!(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_names_are_renamed_by_one_rule() {
        assert_eq!(metric_name("sharpe"), "sharpe");
        assert_eq!(metric_name("val loss"), "val_loss");
        assert_eq!(metric_name("accuracy/top-1"), "accuracy_top_1");
        assert_eq!(metric_name("1st_quartile"), "_1st_quartile");
        assert_eq!(metric_name(&"x".repeat(80)).len(), 64);
    }

    #[test]
    fn parameters_read_as_numbers_and_booleans_where_they_are() {
        assert_eq!(param("10"), json!(10));
        assert_eq!(param("0.5"), json!(0.5));
        assert_eq!(param("False"), json!(false));
        assert_eq!(param("close"), json!("close"));
        assert_eq!(param("[1, 2]"), json!("[1, 2]"));
        assert_eq!(param(""), json!(""));
    }

    #[test]
    fn tracking_uris_name_their_database() {
        assert_eq!(
            store("postgresql+psycopg2://u@h/mlflow").expect("pg"),
            Store::Postgres("postgres://u@h/mlflow".into())
        );
        assert_eq!(
            store("sqlite:///mlflow.db").expect("relative"),
            Store::Sqlite("mlflow.db".into())
        );
        assert_eq!(
            store("sqlite:////srv/mlflow.db").expect("absolute"),
            Store::Sqlite("/srv/mlflow.db".into())
        );
        let mysql = store("mysql://u@h/mlflow").expect_err("mysql");
        assert!(
            mysql.to_string().contains("PostgreSQL or SQLite"),
            "{mysql}"
        );
        let server = store("http://localhost:5000").expect_err("server");
        assert!(
            server.to_string().contains("--backend-store-uri"),
            "{server}"
        );
    }
}
