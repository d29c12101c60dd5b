//! Freqtrade's backtest results as run documents (`btdb import freqtrade`): one run per strategy
//! of a result; hyperopt results, one run per epoch, in `hyperopt`. Reads the result JSON as Freqtrade writes it since 2022 (per-strategy statistics
//! with trades as objects), whether plain (`backtest-result-*.json`) or inside the zip files
//! Freqtrade writes since 2025 (with the strategy's parameter file beside it); docs/importing.md
//! maps every field.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, Result, anyhow, bail};
use bigdecimal::BigDecimal;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Number, Value, json};

mod defaults;
pub mod hyperopt;
mod wallet;

/// Freqtrade's summary figures kept beside btdb's, as `freqtrade.NAME`.
const FIGURES: &[&str] = &[
    "profit_total",
    "profit_total_abs",
    "profit_mean",
    "profit_median",
    "profit_factor",
    "max_drawdown_account",
    "max_drawdown_abs",
    "max_relative_drawdown",
    "sharpe",
    "sortino",
    "calmar",
    "cagr",
    "sqn",
    "expectancy",
    "expectancy_ratio",
    "winrate",
    "wins",
    "draws",
    "losses",
    "total_trades",
    "trades_per_day",
    "starting_balance",
    "final_balance",
    "market_change",
    "holding_avg_s",
];

/// The strategy settings of a result that are parameters of the run.
const SETTINGS: &[&str] = &[
    "timeframe",
    "stoploss",
    "trailing_stop",
    "trailing_stop_positive",
    "trailing_stop_positive_offset",
    "trailing_only_offset_is_reached",
];

/// What the importer says it reads, in every message about a format it does not know.
const KNOWN_FORMAT: &str = "btdb reads the results of Freqtrade 2022.1 and later (tested with \
     2026.9): per-strategy statistics with trades as objects";

/// The equity curve a backtest's run gets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Curve {
    /// The balance after each trade's close, as Freqtrade's account drawdown reads it.
    #[default]
    Closed,
    /// The wallet's value at every candle, open trades at market (`STRATEGY_wallet.feather`,
    /// in the zips Freqtrade writes since 2025).
    Wallet,
}

/// One result file's runs, as run documents in strategy name order (a hyperopt file's in epoch
/// order).
#[derive(Debug)]
pub struct Converted {
    pub file: PathBuf,
    pub documents: Vec<Value>,
    /// Lines of a hyperopt file that could not be read, each named: `FILE:LINE: what`.
    pub broken: Vec<String>,
}

/// The result files behind `paths`: zip and JSON results as given, `.last_result.json` as the
/// result it names, directories as every result in them (sorted). A path that gives none (an
/// empty directory, a pointer to nothing) is an error of its own, beside the files the others
/// give.
pub fn expand(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<anyhow::Error>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match expand_one(path) {
            Ok(found) => files.extend(found),
            Err(e) => errors.push(e),
        }
    }
    (files, errors)
}

fn expand_one(path: &Path) -> Result<Vec<PathBuf>> {
    if path.is_dir() {
        let mut found: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("reading `{}`", path.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| is_result(p))
            .collect();
        found.sort();
        // A result written both ways (older Freqtrade wrote .json, newer .zip): the zip.
        found.retain(|p| {
            p.extension().is_none_or(|e| e != "json") || !p.with_extension("zip").exists()
        });
        if found.is_empty() {
            bail!(
                "`{}` holds no backtest-result-*.zip or *.json, and no hyperopt *.fthypt",
                path.display()
            );
        }
        Ok(found)
    } else if path.file_name().is_some_and(|n| n == ".last_result.json") {
        Ok(vec![latest(path)?])
    } else {
        Ok(vec![path.to_path_buf()])
    }
}

fn is_result(path: &Path) -> bool {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    // A result is `backtest-result-DATE_TIME`; `…_config.json` and a strategy's parameter
    // file `…_STRATEGY.json` beside it have one `_` more.
    let stem = name
        .strip_suffix(".zip")
        .or_else(|| name.strip_suffix(".json"))
        .filter(|stem| !stem.ends_with(".meta"));
    let result = stem
        .and_then(|stem| stem.strip_prefix("backtest-result-"))
        .is_some_and(|stamp| stamp.matches('_').count() <= 1);
    result || hyperopt::is_hyperopt(path)
}

/// The result `.last_result.json` names, beside it.
fn latest(path: &Path) -> Result<PathBuf> {
    crate::ingest::source::regular_file(path).map_err(|e| anyhow!("{}: {e:#}", path.display()))?;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading `{}`", path.display()))?;
    let value: Value =
        serde_json::from_str(&text).map_err(|e| anyhow!("{}: not JSON: {e}", path.display()))?;
    // Backtests' folder names its newest result, hyperopt's its newest epochs file.
    let name = value
        .get("latest_backtest")
        .or_else(|| value.get("latest_hyperopt"))
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("{}: latest_backtest: missing", path.display()))?;
    Ok(path.with_file_name(name))
}

/// The runs of one result file; any error names the file and the field, and means nothing of
/// the file is recorded.
pub fn convert(path: &Path, sweep: Option<&str>, curve: Curve) -> Result<Converted> {
    if hyperopt::is_hyperopt(path) {
        if curve == Curve::Wallet {
            bail!(
                "{}: a hyperopt result keeps no wallet; --equity wallet reads backtest results",
                path.display()
            );
        }
        let epochs = hyperopt::convert(path, sweep)?;
        return Ok(Converted {
            file: path.to_path_buf(),
            documents: epochs.documents,
            broken: epochs.broken,
        });
    }
    let shown = path.display().to_string();
    crate::ingest::source::regular_file(path).map_err(|e| anyhow!("{shown}: {e:#}"))?;
    let zipped = path.extension().is_some_and(|e| e == "zip");
    let (result, kept) = if zipped {
        read_zip(path).map_err(|e| anyhow!("{shown}: {e:#}"))?
    } else {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading `{shown}`"))?;
        (text, Strategies::default())
    };
    let result: Value = serde_json::from_str(&result)
        .map_err(|e| anyhow!("{shown}: not a Freqtrade backtest result: {e}"))?;
    // A result holds each strategy's statistics and the table comparing them.
    let strategies = result
        .get("strategy")
        .and_then(Value::as_object)
        .filter(|s| {
            !s.is_empty()
                && result
                    .get("strategy_comparison")
                    .is_some_and(Value::is_array)
        })
        .ok_or_else(|| {
            anyhow!(
                "{shown}: not a Freqtrade backtest result (no `strategy` object beside a \
                 `strategy_comparison` array); {KNOWN_FORMAT}"
            )
        })?;
    let kept = if zipped {
        kept
    } else {
        beside(path, &strategies.keys().collect::<Vec<_>>())?
    };
    let mut documents = Vec::with_capacity(strategies.len());
    for (name, stats) in strategies {
        let saved = Saved {
            parameter_file: kept.parameter_files.get(name),
            source: kept.sources.get(name).map(String::as_str),
            wallet: kept.wallets.get(name).map(Vec::as_slice),
        };
        let document = run(name, stats, saved, sweep, curve)
            .map_err(|e| anyhow!("{shown}: strategy.{name}.{e:#}"))?;
        documents.push(document);
    }
    Ok(Converted {
        file: path.to_path_buf(),
        documents,
        broken: Vec::new(),
    })
}

/// What a result keeps of each strategy beside its statistics: its parameter file
/// (`NAME_STRATEGY.json`), its source (`NAME_STRATEGY.py`) and its wallet
/// (`NAME_STRATEGY_wallet.feather`), by strategy.
#[derive(Debug, Default)]
struct Strategies {
    parameter_files: BTreeMap<String, Value>,
    sources: BTreeMap<String, String>,
    wallets: BTreeMap<String, Vec<u8>>,
}

const WALLET: &str = "_wallet.feather";

/// The result JSON inside a zip (`NAME.json` in `NAME.zip`, or its one result entry when the
/// zip was renamed), and what the zip keeps of its strategies.
fn read_zip(path: &Path) -> Result<(String, Strategies)> {
    let file = File::open(path).context("opening it")?;
    let mut archive = zip::ZipArchive::new(file).context("not a zip file")?;
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<_, _>>()
        .context("not a readable zip file")?;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    // Beside the result sit `NAME_config.json` and `NAME_STRATEGY.json`: the result's own name
    // is the shortest.
    let mut results: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with("backtest-result-") && n.ends_with(".json"))
        .filter(|n| !n.ends_with("_config.json") && !n.ends_with(".meta.json"))
        .collect();
    results.sort_by_key(|n| n.len());
    let result = results
        .iter()
        .find(|n| n.trim_end_matches(".json") == stem)
        .or(results.first())
        .ok_or_else(|| anyhow!("holds no backtest result (no backtest-result-….json inside)"))?
        .to_string();
    let read = |archive: &mut zip::ZipArchive<File>, name: &str| -> Result<String> {
        let mut text = String::new();
        archive
            .by_name(name)
            .with_context(|| format!("reading `{name}` inside"))?
            .read_to_string(&mut text)
            .with_context(|| format!("reading `{name}` inside"))?;
        Ok(text)
    };
    let text = read(&mut archive, &result)?;
    let prefix = format!("{}_", result.trim_end_matches(".json"));
    let mut strategies = Strategies::default();
    for name in &names {
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        if let Some(strategy) = rest.strip_suffix(WALLET) {
            let mut bytes = Vec::new();
            archive
                .by_name(name)
                .with_context(|| format!("reading `{name}` inside"))?
                .read_to_end(&mut bytes)
                .with_context(|| format!("reading `{name}` inside"))?;
            strategies.wallets.insert(strategy.to_owned(), bytes);
        } else if let Some(strategy) = rest.strip_suffix(".json").filter(|s| *s != "config") {
            let params: Value = serde_json::from_str(&read(&mut archive, name)?)
                .map_err(|e| anyhow!("{name} inside: not JSON: {e}"))?;
            strategies
                .parameter_files
                .insert(strategy.to_owned(), params);
        } else if let Some(strategy) = rest.strip_suffix(".py") {
            strategies
                .sources
                .insert(strategy.to_owned(), read(&mut archive, name)?);
        }
    }
    Ok((text, strategies))
}

/// What lies beside a plain result JSON of each of `names`, as a zip holds it: a result
/// unzipped reads as its zip does.
fn beside(path: &Path, names: &[&String]) -> Result<Strategies> {
    let mut strategies = Strategies::default();
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    for name in names {
        let file = path.with_file_name(format!("{stem}_{name}.json"));
        if file.is_file() {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading `{}`", file.display()))?;
            let params: Value = serde_json::from_str(&text)
                .map_err(|e| anyhow!("{}: not JSON: {e}", file.display()))?;
            strategies.parameter_files.insert((*name).clone(), params);
        }
        let source = path.with_file_name(format!("{stem}_{name}.py"));
        if source.is_file() {
            let text = std::fs::read_to_string(&source)
                .with_context(|| format!("reading `{}`", source.display()))?;
            strategies.sources.insert((*name).clone(), text);
        }
        let wallet = path.with_file_name(format!("{stem}_{name}{WALLET}"));
        if wallet.is_file() {
            let bytes = std::fs::read(&wallet)
                .with_context(|| format!("reading `{}`", wallet.display()))?;
            strategies.wallets.insert((*name).clone(), bytes);
        }
    }
    Ok(strategies)
}

/// A field of `stats`, or an error naming it.
fn field<'a>(stats: &'a Value, name: &str) -> Result<&'a Value> {
    stats
        .get(name)
        .filter(|v| !v.is_null())
        .ok_or_else(|| anyhow!("{name}: missing; {KNOWN_FORMAT}"))
}

fn number<'a>(value: &'a Value, name: &str) -> Result<&'a Number> {
    match value {
        Value::Number(n) => Ok(n),
        other => bail!("{name}: expected a number, found {other}"),
    }
}

fn decimal(n: &Number, name: &str) -> Result<BigDecimal> {
    BigDecimal::from_str(&n.to_string()).map_err(|_| anyhow!("{name}: `{n}` is not a decimal"))
}

fn millis(value: &Value, name: &str) -> Result<DateTime<Utc>> {
    let n = number(value, name)?;
    n.as_i64()
        .and_then(DateTime::from_timestamp_millis)
        .ok_or_else(|| anyhow!("{name}: `{n}` is not a time in milliseconds"))
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The run document of one strategy's statistics.
/// What a result keeps of one strategy: its parameter file, its source and its wallet.
#[derive(Debug, Clone, Copy, Default)]
struct Saved<'a> {
    parameter_file: Option<&'a Value>,
    source: Option<&'a str>,
    wallet: Option<&'a [u8]>,
}

fn run(
    name: &str,
    stats: &Value,
    saved: Saved,
    sweep: Option<&str>,
    curve: Curve,
) -> Result<Value> {
    let trades = field(stats, "trades")?
        .as_array()
        .ok_or_else(|| anyhow!("trades: expected an array; {KNOWN_FORMAT}"))?;
    let start = millis(field(stats, "backtest_start_ts")?, "backtest_start_ts")?;
    let end = millis(field(stats, "backtest_end_ts")?, "backtest_end_ts")?;
    let starting = decimal(
        number(field(stats, "starting_balance")?, "starting_balance")?,
        "starting_balance",
    )?;
    let timeframe = field(stats, "timeframe")?
        .as_str()
        .ok_or_else(|| anyhow!("timeframe: expected a string"))?;
    let pairs: Vec<&str> = field(stats, "pairlist")?
        .as_array()
        .ok_or_else(|| anyhow!("pairlist: expected an array"))?
        .iter()
        .map(|p| {
            p.as_str()
                .ok_or_else(|| anyhow!("pairlist: expected strings"))
        })
        .collect::<Result<_>>()?;

    let mut converted = Vec::with_capacity(trades.len());
    let mut closes: Vec<(DateTime<Utc>, BigDecimal)> = Vec::with_capacity(trades.len());
    for (i, trade) in trades.iter().enumerate() {
        let (doc, close, profit) = self::trade(trade).map_err(|e| anyhow!("trades[{i}].{e:#}"))?;
        converted.push(doc);
        closes.push((close, profit));
    }
    let mut equity = match curve {
        Curve::Closed => closed_balance(start, &starting, closes),
        Curve::Wallet => {
            let feather = saved.wallet.ok_or_else(|| {
                anyhow!(
                    "wallet: this result keeps none ({name}{WALLET}); without --equity wallet \
                     the run gets the closed-trade balance"
                )
            })?;
            wallet::curve(feather).map_err(|e| anyhow!("wallet: {name}{WALLET}: {e:#}"))?
        }
    };
    // A backtest without a trade held its balance from start to end: a flat curve, so that
    // its returns and drawdown are 0 like any run's, not missing.
    let flat = converted.is_empty() && end > start;
    if flat && curve == Curve::Closed {
        equity.push((end, starting.clone()));
    }
    let years = (end - start).num_seconds() as f64 / (365.25 * 86_400.0);

    let mut document = Map::new();
    if let Some(started) = stats.get("backtest_run_start_ts").and_then(Value::as_i64) {
        document.insert("run_key".into(), json!(run_key(name, started, stats)));
    }
    document.insert("strategy".into(), json!(name));
    let (dataset_name, shortened) = dataset(&pairs, timeframe);
    let mut run_params = params(stats, saved)?;
    // A data set named by a few of its pairs keeps the whole list on the run.
    if shortened {
        run_params.insert("pairlist".into(), json!(pairs.join(",")));
    }
    document.insert("params".into(), Value::Object(run_params));
    document.insert("dataset".into(), json!(dataset_name));
    document.insert("period_start".into(), json!(rfc3339(start)));
    document.insert("period_end".into(), json!(rfc3339(end)));
    document.insert("initial_capital".into(), json!(starting.to_plain_string()));
    // One point per trade close (or per candle of the wallet): the per-period metrics are per
    // closed trade (or candle), annualised by the points per year.
    if equity.len() > 1 && years > 0.0 {
        document.insert(
            "periods_per_year".into(),
            json!((equity.len() - 1) as f64 / years),
        );
    }
    if let Some(sweep) = sweep {
        document.insert("sweep".into(), json!(sweep));
    }
    document.insert("tags".into(), json!(["freqtrade"]));
    let mut metrics = figures(stats);
    if flat {
        // btdb counts trades from the trades; a run without any has none to count.
        metrics.insert("n_trades".into(), json!(0));
    }
    document.insert("metrics".into(), Value::Object(metrics));
    document.insert("trades".into(), Value::Array(converted));
    document.insert(
        "equity".into(),
        Value::Array(
            equity
                .into_iter()
                .map(|(t, e)| json!([rfc3339(t), e.to_plain_string()]))
                .collect(),
        ),
    );
    Ok(Value::Object(document))
}

/// A backtest's key: its strategy, the second it started, and a hash of its statistics, so
/// that backtests started in the same second (run in parallel) are two runs, and the same
/// result, zipped or not, renamed or not, is one.
fn run_key(name: &str, started: i64, stats: &Value) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(stats.to_string().as_bytes());
    let hash: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("freqtrade:{name}:{started}:{hash}")
}

/// What tells one backtest from another started in the same second: btdb before 2026-12-07
/// keyed backtests `freqtrade:STRATEGY:SECOND`, and a run recorded so keeps its key
/// (`keep_former_keys`).
#[derive(Debug, Clone, PartialEq)]
pub struct Backtest {
    pub dataset: String,
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
    /// Freqtrade's `final_balance`, which differs between backtests of other parameters.
    pub final_balance: Option<f64>,
}

/// The metric `Backtest::final_balance` is read from.
pub const FINAL_BALANCE: &str = "freqtrade.final_balance";

/// The former key of a backtest's run document (`freqtrade:STRATEGY:SECOND`) with what tells
/// its backtest; none for another document.
pub fn former_key(document: &Value) -> Option<(String, Backtest)> {
    let key = document.get("run_key")?.as_str()?;
    let (former, _) = key.strip_prefix("freqtrade:")?.rsplit_once(':')?;
    let time = |field: &str| {
        document
            .get(field)
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let backtest = Backtest {
        dataset: document.get("dataset")?.as_str()?.to_owned(),
        period_start: time("period_start"),
        period_end: time("period_end"),
        final_balance: document["metrics"]
            .get(FINAL_BALANCE)
            .and_then(Value::as_f64),
    };
    Some((format!("freqtrade:{former}"), backtest))
}

/// Gives each document whose former key holds its backtest (in `stored`, by key) that key
/// back: importing a result again then finds the run recorded before, rather than recording it
/// a second time under the new key.
pub fn keep_former_keys(documents: &mut [Value], stored: &BTreeMap<String, Backtest>) {
    for document in documents {
        if let Some((former, backtest)) = former_key(document)
            && stored.get(&former) == Some(&backtest)
        {
            document["run_key"] = json!(former);
        }
    }
}

/// The data set of a backtest: its pairs and timeframe (`BTC/USDT,ETH/USDT:1h`), or, where
/// that is longer than a data set's 200 characters, its first pairs, how many more, and a hash
/// of the whole list (`BTC/USDT,ETH/USDT,SOL/USDT+22#3fa2c1d9:1h`), the same for the same list;
/// true when shortened.
fn dataset(pairs: &[&str], timeframe: &str) -> (String, bool) {
    use sha2::{Digest, Sha256};
    let whole = format!("{}:{timeframe}", pairs.join(","));
    if whole.chars().count() <= 200 {
        return (whole, false);
    }
    let digest = Sha256::digest(pairs.join(",").as_bytes());
    let hash: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    let shown = 3.min(pairs.len());
    let mut head = pairs[..shown].join(",");
    // Pair names are short; a list of long ones keeps only what fits.
    let tail = format!("+{}#{hash}:{timeframe}", pairs.len() - shown);
    let room = 200usize.saturating_sub(tail.chars().count());
    if head.chars().count() > room {
        head = head.chars().take(room).collect();
    }
    (format!("{head}{tail}"), true)
}

/// One trade, its close time and its profit.
fn trade(trade: &Value) -> Result<(Value, DateTime<Utc>, BigDecimal)> {
    if !trade.is_object() {
        bail!("expected an object (an older result format); {KNOWN_FORMAT}");
    }
    let get = |name: &str| field(trade, name);
    let dec = |name: &str| -> Result<BigDecimal> { decimal(number(get(name)?, name)?, name) };
    let text = |name: &str| -> Result<String> { Ok(number(get(name)?, name)?.to_string()) };
    let pair = get("pair")?
        .as_str()
        .ok_or_else(|| anyhow!("pair: expected a string"))?;
    let short = get("is_short")?
        .as_bool()
        .ok_or_else(|| anyhow!("is_short: expected true or false"))?;
    let opened = millis(get("open_timestamp")?, "open_timestamp")?;
    let closed = millis(get("close_timestamp")?, "close_timestamp")?;
    let amount = dec("amount")?;
    // Freqtrade charges its fee rate on each side's value.
    let fees = &amount * dec("open_rate")? * dec("fee_open")?
        + &amount * dec("close_rate")? * dec("fee_close")?;
    let profit = dec("profit_abs")?;
    let mut doc = json!({
        "symbol": pair,
        "side": if short { "short" } else { "long" },
        "quantity": text("amount")?,
        "entry_time": rfc3339(opened),
        "entry_price": text("open_rate")?,
        "exit_time": rfc3339(closed),
        "exit_price": text("close_rate")?,
        "fees": fees.normalized().to_plain_string(),
        "pnl": text("profit_abs")?,
    });
    // Freqtrade writes an empty tag for a trade its strategy did not tag.
    for (from, to) in [("enter_tag", "entry_tag"), ("exit_reason", "exit_reason")] {
        if let Some(tag) = trade
            .get(from)
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            doc[to] = json!(tag);
        }
    }
    if let Some(leverage) = trade.get("leverage").filter(|v| !v.is_null()) {
        doc["leverage"] = json!(number(leverage, "leverage")?.to_string());
    }
    Ok((doc, closed, profit))
}

/// The closed-trade balance: the starting balance at the start, then after each close (trades
/// closing at one time in one point), as Freqtrade's account drawdown reads it.
fn closed_balance(
    start: DateTime<Utc>,
    starting: &BigDecimal,
    mut closes: Vec<(DateTime<Utc>, BigDecimal)>,
) -> Vec<(DateTime<Utc>, BigDecimal)> {
    closes.sort_by_key(|(t, _)| *t);
    let mut points = vec![(start, starting.clone())];
    let mut balance = starting.clone();
    for (t, profit) in closes {
        balance += profit;
        match points.last_mut() {
            Some(last) if last.0 >= t => last.1 = balance.clone(),
            _ => points.push((t, balance.clone())),
        }
    }
    points
}

/// The run's parameters: the strategy settings the result records, `minimal_roi` as its JSON
/// text, and every hyperoptable parameter (buy, sell, protection spaces) under its own name:
/// its default in the strategy's source, or its value in the parameter file.
fn params(stats: &Value, saved: Saved) -> Result<Map<String, Value>> {
    let mut params = Map::new();
    if let Some(source) = saved.source {
        params.extend(defaults::defaults(source));
    }
    if let Some(spaces) = saved
        .parameter_file
        .and_then(|f| f.get("params"))
        .and_then(Value::as_object)
    {
        for space in ["buy", "sell", "protection"] {
            for (key, value) in spaces
                .get(space)
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                params.insert(key.clone(), scalar(value));
            }
        }
    }
    for key in SETTINGS {
        if let Some(value) = stats.get(*key).filter(|v| !v.is_null()) {
            params.insert((*key).to_owned(), scalar(value));
        }
    }
    if let Some(roi) = stats.get("minimal_roi").filter(|v| !v.is_null()) {
        params.insert("minimal_roi".into(), json!(roi.to_string()));
    }
    Ok(params)
}

/// A parameter value the run document takes: numbers, strings and booleans as they are,
/// anything else as its JSON text.
fn scalar(value: &Value) -> Value {
    match value {
        Value::Number(_) | Value::String(_) | Value::Bool(_) => value.clone(),
        other => json!(other.to_string()),
    }
}

fn figures(stats: &Value) -> Map<String, Value> {
    let mut metrics = Map::new();
    for name in FIGURES {
        if let Some(n) = stats
            .get(*name)
            .and_then(Value::as_f64)
            .filter(|v| v.is_finite())
        {
            metrics.insert(format!("freqtrade.{name}"), json!(n));
        }
    }
    metrics
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trades_closing_together_are_one_point_of_the_balance() {
        let t = |s: i64| DateTime::from_timestamp(s, 0).expect("time");
        let d = |s: &str| BigDecimal::from_str(s).expect("decimal");
        let points = closed_balance(
            t(0),
            &d("100"),
            vec![(t(20), d("-2")), (t(10), d("5")), (t(20), d("1.5"))],
        );
        assert_eq!(
            points,
            vec![(t(0), d("100")), (t(10), d("105")), (t(20), d("104.5"))]
        );
    }
}
