//! Optuna's RDB storage (`RDBStorage`: SQLite or PostgreSQL through SQLAlchemy), read with
//! btdb's own database code in eight queries whatever the number of trials. The schema is
//! Optuna's alembic revision v3.0.0.d or v3.2.0.a (Optuna 3.0 to 5.x; the two differ by an
//! index only).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use diesel::sql_types::{BigInt, Double, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::{Map, Value};

use super::{METRIC_NAMES, RawParam, State, Study, Trial, direction_from_name, lenient_json};

/// The alembic revisions whose schema btdb reads.
const REVISIONS: [&str; 2] = ["v3.0.0.d", "v3.2.0.a"];

const NOT_A_STORAGE: &str = "not an Optuna storage: the database has no studies, trials and \
     alembic_version tables";

#[derive(diesel::QueryableByName)]
struct Revision {
    #[diesel(sql_type = Text)]
    version_num: String,
}

#[derive(diesel::QueryableByName)]
struct StudyRow {
    #[diesel(sql_type = BigInt)]
    study_id: i64,
    #[diesel(sql_type = Text)]
    study_name: String,
}

#[derive(diesel::QueryableByName)]
struct DirectionRow {
    #[diesel(sql_type = BigInt)]
    study_id: i64,
    #[diesel(sql_type = BigInt)]
    objective: i64,
    #[diesel(sql_type = Text)]
    direction: String,
}

/// A user or system attribute of a study or trial (`owner` is its id).
#[derive(diesel::QueryableByName)]
struct AttrRow {
    #[diesel(sql_type = BigInt)]
    owner: i64,
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = Text)]
    value_json: String,
}

#[derive(diesel::QueryableByName)]
struct TrialRow {
    #[diesel(sql_type = BigInt)]
    trial_id: i64,
    #[diesel(sql_type = BigInt)]
    study_id: i64,
    #[diesel(sql_type = BigInt)]
    number: i64,
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = Nullable<Text>)]
    datetime_start: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    datetime_complete: Option<String>,
}

#[derive(diesel::QueryableByName)]
struct ParamRow {
    #[diesel(sql_type = BigInt)]
    trial_id: i64,
    #[diesel(sql_type = Text)]
    param_name: String,
    #[diesel(sql_type = Double)]
    param_value: f64,
    #[diesel(sql_type = Text)]
    distribution_json: String,
}

/// A trial's value or intermediate value; `kind` is FINITE, INF_POS, INF_NEG or NAN (the
/// value column is NULL but for FINITE).
#[derive(diesel::QueryableByName)]
struct ValueRow {
    #[diesel(sql_type = BigInt)]
    trial_id: i64,
    #[diesel(sql_type = BigInt)]
    position: i64,
    #[diesel(sql_type = Nullable<Double>)]
    value: Option<f64>,
    #[diesel(sql_type = Text)]
    kind: String,
}

/// Every table's rows, as both databases give them.
struct Tables {
    studies: Vec<StudyRow>,
    directions: Vec<DirectionRow>,
    study_attrs: Vec<AttrRow>,
    metric_names: Vec<AttrRow>,
    trials: Vec<TrialRow>,
    params: Vec<ParamRow>,
    values: Vec<ValueRow>,
    intermediate: Vec<ValueRow>,
    trial_attrs: Vec<AttrRow>,
}

/// The queries, in SQL both databases run. Texts are cast so that PostgreSQL's enums and
/// timestamps arrive as SQLite's strings do.
const STUDIES: &str = "SELECT CAST(study_id AS BIGINT) AS study_id, study_name FROM studies \
     ORDER BY study_id";
const DIRECTIONS: &str = "SELECT CAST(study_id AS BIGINT) AS study_id, \
     CAST(objective AS BIGINT) AS objective, CAST(direction AS TEXT) AS direction \
     FROM study_directions ORDER BY study_id, objective";
const STUDY_ATTRS: &str = "SELECT CAST(study_id AS BIGINT) AS owner, key, value_json FROM study_user_attributes \
     WHERE study_id IS NOT NULL AND key IS NOT NULL AND value_json IS NOT NULL ORDER BY key";
const METRIC_NAME_ATTRS: &str = "SELECT CAST(study_id AS BIGINT) AS owner, key, value_json \
     FROM study_system_attributes WHERE study_id IS NOT NULL AND key = 'study:metric_names' \
     AND value_json IS NOT NULL";
const TRIALS: &str = "SELECT CAST(trial_id AS BIGINT) AS trial_id, CAST(study_id AS BIGINT) AS study_id, \
     CAST(number AS BIGINT) AS number, CAST(state AS TEXT) AS state, \
     CAST(datetime_start AS TEXT) AS datetime_start, \
     CAST(datetime_complete AS TEXT) AS datetime_complete \
     FROM trials WHERE study_id IS NOT NULL AND number IS NOT NULL ORDER BY study_id, number";
const PARAMS: &str = "SELECT CAST(trial_id AS BIGINT) AS trial_id, param_name, param_value, distribution_json \
     FROM trial_params WHERE trial_id IS NOT NULL AND param_name IS NOT NULL \
     AND param_value IS NOT NULL AND distribution_json IS NOT NULL ORDER BY trial_id, param_id";
const VALUES: &str = "SELECT CAST(trial_id AS BIGINT) AS trial_id, CAST(objective AS BIGINT) AS position, value, \
     CAST(value_type AS TEXT) AS kind FROM trial_values ORDER BY trial_id, objective";
const INTERMEDIATE: &str = "SELECT CAST(trial_id AS BIGINT) AS trial_id, CAST(step AS BIGINT) AS position, \
     intermediate_value AS value, \
     CAST(intermediate_value_type AS TEXT) AS kind FROM trial_intermediate_values \
     ORDER BY trial_id, step";
const TRIAL_ATTRS: &str = "SELECT CAST(trial_id AS BIGINT) AS owner, key, value_json FROM trial_user_attributes \
     WHERE trial_id IS NOT NULL AND key IS NOT NULL AND value_json IS NOT NULL ORDER BY key";

/// The revision check's answer: a storage of another revision is named, with what to do.
fn check_revision(revision: Option<&str>) -> Result<()> {
    match revision {
        Some(r) if REVISIONS.contains(&r) => Ok(()),
        Some(r) => bail!(
            "Optuna storage schema {r}: btdb reads {} (Optuna 3.0 to 5.x); upgrade it with \
             `optuna storage upgrade --storage URL`",
            REVISIONS.join(" and ")
        ),
        None => bail!("{NOT_A_STORAGE}"),
    }
}

/// Reads a PostgreSQL storage.
pub async fn read(conn: &mut AsyncPgConnection) -> Result<Vec<Study>> {
    let tables: Vec<StudyTableCount> = diesel::sql_query(
        "SELECT count(*) AS n FROM information_schema.tables \
         WHERE table_schema = current_schema() \
           AND table_name IN ('studies', 'trials', 'alembic_version')",
    )
    .load(conn)
    .await?;
    if tables.as_slice().first().map(|t| t.n) != Some(3) {
        bail!("{NOT_A_STORAGE}");
    }
    let revision: Vec<Revision> = diesel::sql_query("SELECT version_num FROM alembic_version")
        .load(conn)
        .await?;
    check_revision(revision.as_slice().first().map(|r| r.version_num.as_str()))?;
    macro_rules! all {
        ($sql:expr, $what:literal) => {
            diesel::sql_query($sql)
                .load(conn)
                .await
                .context(concat!("reading Optuna's ", $what))?
        };
    }
    assemble(Tables {
        studies: all!(STUDIES, "studies"),
        directions: all!(DIRECTIONS, "study directions"),
        study_attrs: all!(STUDY_ATTRS, "study attributes"),
        metric_names: all!(METRIC_NAME_ATTRS, "metric names"),
        trials: all!(TRIALS, "trials"),
        params: all!(PARAMS, "trial parameters"),
        values: all!(VALUES, "trial values"),
        intermediate: all!(INTERMEDIATE, "intermediate values"),
        trial_attrs: all!(TRIAL_ATTRS, "trial attributes"),
    })
}

#[derive(diesel::QueryableByName)]
struct StudyTableCount {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Reads a SQLite storage, opened read-only.
pub fn read_sqlite(path: &Path) -> Result<Vec<Study>> {
    use rusqlite::types::Value as V;
    let conn = crate::import::open_sqlite(
        path,
        &["studies", "trials", "alembic_version"],
        NOT_A_STORAGE,
    )?;
    let revision: Option<String> = conn
        .query_row("SELECT version_num FROM alembic_version", [], |row| {
            row.get(0)
        })
        .ok();
    check_revision(revision.as_deref())?;
    let all = |sql: &str, what: &str| -> Result<Vec<Vec<V>>> {
        crate::import::sqlite_rows(&conn, sql).with_context(|| format!("reading Optuna's {what}"))
    };
    let int = |v: &V| match v {
        V::Integer(i) => *i,
        _ => 0,
    };
    let text = |v: &V| match v {
        V::Text(t) => Some(t.clone()),
        V::Integer(i) => Some(i.to_string()),
        _ => None,
    };
    // SQLite keeps a REAL that happens to be integral as an integer when asked to.
    let real = |v: &V| match v {
        V::Real(r) => Some(*r),
        V::Integer(i) => Some(*i as f64),
        _ => None,
    };
    let attrs = |sql: &str, what: &str| -> Result<Vec<AttrRow>> {
        Ok(all(sql, what)?
            .iter()
            .map(|r| AttrRow {
                owner: int(&r[0]),
                key: text(&r[1]).unwrap_or_default(),
                value_json: text(&r[2]).unwrap_or_default(),
            })
            .collect())
    };
    let values = |sql: &str, what: &str| -> Result<Vec<ValueRow>> {
        Ok(all(sql, what)?
            .iter()
            .map(|r| ValueRow {
                trial_id: int(&r[0]),
                position: int(&r[1]),
                value: real(&r[2]),
                kind: text(&r[3]).unwrap_or_default(),
            })
            .collect())
    };
    assemble(Tables {
        studies: all(STUDIES, "studies")?
            .iter()
            .map(|r| StudyRow {
                study_id: int(&r[0]),
                study_name: text(&r[1]).unwrap_or_default(),
            })
            .collect(),
        directions: all(DIRECTIONS, "study directions")?
            .iter()
            .map(|r| DirectionRow {
                study_id: int(&r[0]),
                objective: int(&r[1]),
                direction: text(&r[2]).unwrap_or_default(),
            })
            .collect(),
        study_attrs: attrs(STUDY_ATTRS, "study attributes")?,
        metric_names: attrs(METRIC_NAME_ATTRS, "metric names")?,
        trials: all(TRIALS, "trials")?
            .iter()
            .map(|r| TrialRow {
                trial_id: int(&r[0]),
                study_id: int(&r[1]),
                number: int(&r[2]),
                state: text(&r[3]).unwrap_or_default(),
                datetime_start: text(&r[4]),
                datetime_complete: text(&r[5]),
            })
            .collect(),
        params: all(PARAMS, "trial parameters")?
            .iter()
            .map(|r| ParamRow {
                trial_id: int(&r[0]),
                param_name: text(&r[1]).unwrap_or_default(),
                param_value: real(&r[2]).unwrap_or(f64::NAN),
                distribution_json: text(&r[3]).unwrap_or_default(),
            })
            .collect(),
        values: values(VALUES, "trial values")?,
        intermediate: values(INTERMEDIATE, "intermediate values")?,
        trial_attrs: attrs(TRIAL_ATTRS, "trial attributes")?,
    })
}

/// A value row's float: FINITE from its column, the others by their kind.
fn value_of(row: &ValueRow) -> Result<f64> {
    Ok(match row.kind.as_str() {
        "FINITE" => row
            .value
            .ok_or_else(|| anyhow!("trial {}: a FINITE value without a value", row.trial_id))?,
        "INF_POS" => f64::INFINITY,
        "INF_NEG" => f64::NEG_INFINITY,
        "NAN" => f64::NAN,
        other => bail!("trial {}: unknown value type `{other}`", row.trial_id),
    })
}

fn attr_map(rows: &[AttrRow], owner: i64) -> Result<Map<String, Value>> {
    rows.iter()
        .filter(|a| a.owner == owner)
        .map(|a| {
            let value = lenient_json(&a.value_json)
                .map_err(|e| anyhow!("user attribute `{}` is not JSON: {e}", a.key))?;
            Ok((a.key.clone(), value))
        })
        .collect()
}

fn assemble(tables: Tables) -> Result<Vec<Study>> {
    let mut trials_of: HashMap<i64, Vec<Trial>> = HashMap::new();
    let mut params: HashMap<i64, Vec<RawParam>> = HashMap::new();
    for p in tables.params {
        params.entry(p.trial_id).or_default().push(RawParam {
            name: p.param_name,
            internal: p.param_value,
            distribution: p.distribution_json,
        });
    }
    let mut values: HashMap<i64, Vec<f64>> = HashMap::new();
    for v in &tables.values {
        values.entry(v.trial_id).or_default().push(value_of(v)?);
    }
    let mut intermediate: HashMap<i64, BTreeMap<i64, f64>> = HashMap::new();
    for v in &tables.intermediate {
        intermediate
            .entry(v.trial_id)
            .or_default()
            .insert(v.position, value_of(v)?);
    }
    let mut trial_attrs: HashMap<i64, Vec<AttrRow>> = HashMap::new();
    for a in tables.trial_attrs {
        trial_attrs.entry(a.owner).or_default().push(a);
    }
    for t in tables.trials {
        let at = |e: anyhow::Error| anyhow!("trial {} of study {}: {e}", t.number, t.study_id);
        let time = |text: &Option<String>| text.as_deref().map(super::naive_utc).transpose();
        let trial = Trial {
            number: t.number,
            state: State::from_name(&t.state).map_err(at)?,
            params: params.remove(&t.trial_id).unwrap_or_default(),
            values: values.remove(&t.trial_id),
            intermediate: intermediate.remove(&t.trial_id).unwrap_or_default(),
            user_attrs: attr_map(
                &trial_attrs.remove(&t.trial_id).unwrap_or_default(),
                t.trial_id,
            )
            .map_err(at)?,
            started: time(&t.datetime_start).map_err(at)?,
            completed: time(&t.datetime_complete).map_err(at)?,
        };
        trials_of.entry(t.study_id).or_default().push(trial);
    }
    let mut studies = Vec::with_capacity(tables.studies.len());
    for s in tables.studies {
        let at = |e: anyhow::Error| anyhow!("study `{}`: {e}", s.study_name);
        let mut directions = Vec::new();
        for d in tables
            .directions
            .iter()
            .filter(|d| d.study_id == s.study_id)
        {
            let objective = usize::try_from(d.objective)
                .map_err(|_| at(anyhow!("objective {} of no study", d.objective)))?;
            if directions.len() <= objective {
                directions.resize(objective + 1, None);
            }
            directions[objective] = direction_from_name(&d.direction).map_err(at)?;
        }
        let metric_names = match tables.metric_names.iter().find(|a| a.owner == s.study_id) {
            Some(a) => Some(
                serde_json::from_str::<Vec<String>>(&a.value_json)
                    .map_err(|e| at(anyhow!("{METRIC_NAMES} is not a list of names: {e}")))?,
            ),
            None => None,
        };
        studies.push(Study {
            directions,
            metric_names,
            user_attrs: attr_map(&tables.study_attrs, s.study_id).map_err(at)?,
            trials: trials_of.remove(&s.study_id).unwrap_or_default(),
            name: s.study_name,
        });
    }
    Ok(studies)
}
