//! `btdb serve` over HTTP: every route answers what the CLI answers, bad input gets the CLI's
//! one line and a 400, hostile names stay text, the token rule holds, cached answers are never
//! stale, and a database that goes away gets 503s until it is back.

mod common;

use std::time::{Duration, Instant};

use common::TestDb;
use common::cli::{btdb, ok, text};
use common::serve::{HOSTILE, Server, record_hostile, request};
use diesel_async::SimpleAsyncConnection;
use serde_json::Value;

/// A test database holding the demo's 216 runs.
async fn demo() -> TestDb {
    let db = TestDb::new().await;
    let dir = common::scratch_dir("serve-demo");
    ok(&db, &["demo", "--out", dir.to_str().expect("path")]);
    db
}

fn cli_json(db: &TestDb, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    serde_json::from_str(&ok(db, &all)).expect("CLI JSON")
}

fn enc(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_api_route_answers_what_the_cli_answers() {
    let db = demo().await;
    let server = Server::start(db.url(), &[]);
    let key = cli_json(&db, &["show", "133"])["run_key"]
        .as_str()
        .expect("a run_key")
        .to_owned();
    let cases: Vec<(String, Vec<&str>)> = vec![
        ("/api/rank".into(), vec!["rank"]),
        (
            "/api/rank?by=mean&min-runs=10&top=2".into(),
            vec!["rank", "--by", "mean", "--min-runs", "10", "--top", "2"],
        ),
        ("/api/rank?deflated".into(), vec!["rank", "--deflated"]),
        (
            "/api/rank?runs=true&psr=on&top=5&metric=cagr".into(),
            vec!["rank", "--runs", "--psr", "--top", "5", "--metric", "cagr"],
        ),
        (
            format!(
                "/api/rank?where={}&dataset=SYNA-1d-IS",
                enc("params.fast >= 10")
            ),
            vec![
                "rank",
                "--where",
                "params.fast >= 10",
                "--dataset",
                "SYNA-1d-IS",
            ],
        ),
        (
            "/api/rank?tag=in-sample&tag=demo&by=median".into(),
            vec![
                "rank",
                "--tag",
                "in-sample",
                "--tag",
                "demo",
                "--by",
                "median",
            ],
        ),
        (
            "/api/compare?strategy=sma_cross&x=fast&y=slow&dataset=SYNA-1d-IS".into(),
            vec![
                "compare",
                "--strategy",
                "sma_cross",
                "--x",
                "fast",
                "--y",
                "slow",
                "--dataset",
                "SYNA-1d-IS",
            ],
        ),
        (
            "/api/compare?strategy=momentum&is=SYNA-1d-IS&oos=SYNA-1d-OOS".into(),
            vec![
                "compare",
                "--strategy",
                "momentum",
                "--is",
                "SYNA-1d-IS",
                "--oos",
                "SYNA-1d-OOS",
            ],
        ),
        (
            "/api/compare?strategy=sma_cross&dataset=SYNA-1d-IS&pbo&partitions=8".into(),
            vec![
                "compare",
                "--strategy",
                "sma_cross",
                "--dataset",
                "SYNA-1d-IS",
                "--pbo",
                "--partitions",
                "8",
            ],
        ),
        ("/api/runs?limit=7".into(), vec!["runs", "--limit", "7"]),
        (
            "/api/runs?limit=5&after=100&strategy=momentum&status=completed".into(),
            vec![
                "runs",
                "--limit",
                "5",
                "--after",
                "100",
                "--strategy",
                "momentum",
                "--status",
                "completed",
            ],
        ),
        (
            "/api/runs/133?trades&equity".into(),
            vec!["show", "133", "--trades", "--equity"],
        ),
        (
            format!("/api/runs?key={}", enc(&key)),
            vec!["show", "--key", &key],
        ),
        (
            "/api/runs/133?psr-benchmark=0.5".into(),
            vec!["show", "133", "--psr-benchmark", "0.5"],
        ),
    ];
    for (path, args) in &cases {
        assert_eq!(
            server.json(path),
            cli_json(&db, args),
            "GET {path} against btdb {args:?}"
        );
    }

    // Paging back from the second page gives the first again, in the same order.
    let first = server.json("/api/runs?limit=5");
    assert_eq!(first["previous"], Value::Null);
    let next = first["next"].as_i64().expect("a next cursor");
    let second = server.json(&format!("/api/runs?limit=5&after={next}"));
    let previous = second["previous"].as_i64().expect("a previous cursor");
    assert_eq!(previous, second["runs"][0]["id"].as_i64().expect("id"));
    let back = server.json(&format!("/api/runs?limit=5&before={previous}"));
    assert_eq!(back["runs"], first["runs"]);
    assert_eq!(
        back["previous"],
        Value::Null,
        "the newest page has none newer"
    );
    let cli_back = cli_json(
        &db,
        &["runs", "--limit", "5", "--before", &previous.to_string()],
    );
    assert_eq!(cli_back["runs"], first["runs"]);

    // The trades of a run a page at a time add up to all of them.
    let all = cli_json(&db, &["show", "133", "--trades"])["trades"].clone();
    let all = all.as_array().expect("trades").clone();
    assert!(all.len() > 3, "run 133 has trades to page through");
    let mut paged = Vec::new();
    let mut after: Option<i64> = None;
    loop {
        let path = match after {
            Some(a) => format!("/api/runs/133/trades?limit=3&after={a}"),
            None => "/api/runs/133/trades?limit=3".to_owned(),
        };
        let page = server.json(&path);
        assert_eq!(page["run"], 133);
        paged.extend(page["trades"].as_array().expect("trades").iter().cloned());
        match page["next"].as_i64() {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(paged, all);

    // Runs side by side: each row's values are the runs' own, `differs` where they differ.
    let side = server.json("/api/side-by-side?id=1&id=2&id=133");
    let shown: Vec<Value> = ["1", "2", "133"]
        .iter()
        .map(|id| cli_json(&db, &["show", id]))
        .collect();
    let ids: Vec<i64> = side["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| r["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(ids, [1, 2, 133]);
    for (rows, field) in [("parameters", "params"), ("metrics", "metrics")] {
        for row in side[rows].as_array().expect("rows") {
            let name = row["name"].as_str().expect("name");
            let expected: Vec<Value> = shown.iter().map(|s| s[field][name].clone()).collect();
            assert_eq!(row["values"], Value::from(expected.clone()), "{name}");
            let differs = expected.windows(2).any(|w| w[0] != w[1]);
            assert_eq!(row["differs"], differs, "{name}");
        }
    }
    let overview = server.json("/api/strategies/sma_cross");
    assert_eq!(overview["parameters"], serde_json::json!(["fast", "slow"]));
    assert_eq!(overview["datasets"].as_array().expect("datasets").len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_renders_with_its_safety_headers() {
    let db = demo().await;
    let server = Server::start(db.url(), &[]);
    let pages: [(&str, &[&str]); 8] = [
        ("/", &["href=\"/strategies/sma_cross\"", "deflated Sharpe"]),
        (
            "/?metric=cagr&by=mean",
            &["Strategies by cagr", "mean cagr"],
        ),
        (
            "/strategies/sma_cross",
            &[
                "<svg",
                "<title>fast = 5, slow = 50: mean sharpe ",
                "Sensitivity",
            ],
        ),
        (
            "/strategies/sma_cross?metric=sharpe&x=slow&y=&dataset=",
            &["sma_cross: sharpe by slow", "min – max"],
        ),
        (
            "/strategies/momentum?is=SYNA-1d-IS&oos=SYNA-1d-OOS",
            &["Spearman rank correlation", "in-sample winner"],
        ),
        (
            "/runs?limit=10",
            &[
                "href=\"/runs/216\"",
                "next →",
                "/runs.csv?limit=10",
                "216 runs match",
            ],
        ),
        (
            "/runs/133",
            &["<svg", "drawdown", "<td class=\"num\">0</td>"],
        ),
        (
            "/side-by-side?id=1&id=133&diff=on",
            &["<svg", "class=\"differs\"", "rebased to 1"],
        ),
    ];
    for (path, wanted) in pages {
        let response = server.get(path, &[]);
        assert_eq!(response.status, 200, "GET {path}: {}", response.body);
        assert_eq!(
            response.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        let policy = response
            .header("content-security-policy")
            .expect("a policy");
        assert!(
            policy.contains("default-src 'none'") && !policy.contains("http"),
            "{policy}"
        );
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
        for w in wanted {
            assert!(response.body.contains(w), "GET {path} lacks {w}");
        }
        assert!(
            !response.body.contains("<script"),
            "GET {path} holds a script"
        );
    }
    // Not one page: every run of the selection, with a column per parameter and metric.
    let csv = server.get("/runs.csv?limit=9&strategy=momentum", &[]);
    assert!(
        csv.header("content-disposition")
            .is_some_and(|d| d.contains("attachment"))
    );
    let listed: serde_json::Value = serde_json::from_str(&ok(
        &db,
        &[
            "runs",
            "--strategy",
            "momentum",
            "--limit",
            "1000",
            "--format",
            "json",
        ],
    ))
    .expect("json");
    let listed = listed["runs"].as_array().expect("runs");
    assert!(listed.len() > 9, "more than one page of 9");
    let mut reader = csv::Reader::from_reader(csv.body.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    let mut keys: Vec<String> = listed
        .iter()
        .flat_map(|r| r["params"].as_object().expect("params").keys().cloned())
        .collect();
    keys.sort();
    keys.dedup();
    for key in &keys {
        assert!(
            header.contains(&format!("params.{key}")),
            "{header:?} lacks {key}"
        );
    }
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), listed.len());
    let column = |name: &str| header.iter().position(|h| h == name).expect(name);
    for (row, run) in rows.iter().zip(listed) {
        assert_eq!(row[column("id")], run["id"].to_string());
        for key in &keys {
            assert_eq!(
                row[column(&format!("params.{key}"))],
                run["params"][key].to_string()
            );
        }
        let sharpe: f64 = row[column("metrics.sharpe")].parse().expect("sharpe");
        assert_eq!(
            Some(sharpe),
            run["metrics"]["sharpe"].as_f64(),
            "exact, not rounded"
        );
    }
    let css = server.get("/static/style.css", &[]);
    assert_eq!(css.status, 200);
    assert!(
        css.header("content-type")
            .is_some_and(|t| t.starts_with("text/css"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_gets_the_cli_line_and_a_400_never_a_500() {
    let db = demo().await;
    let server = Server::start(db.url(), &[]);
    // The same words as the command line's error.
    let cli = btdb(&db, &["rank", "--metric", "sharpee"], None);
    let line = text(&cli.stderr);
    let line = line.trim().strip_prefix("error: ").expect("an error line");
    let api = server.get("/api/rank?metric=sharpee", &[]);
    assert_eq!(api.status, 400);
    let body: Value = serde_json::from_str(&api.body).expect("JSON error");
    assert_eq!(body["error"], line);
    let page = server.get("/?metric=sharpee", &[]);
    assert_eq!(page.status, 400);
    assert!(page.body.contains("did you mean"), "{}", page.body);
    // A page names its own fields, not the command line's flags.
    for (path, field) in [
        ("/runs?limit=0", "“per page”"),
        ("/runs?sort=sharpee", "“sort by”"),
        ("/?by=sideways", "“by”"),
    ] {
        let page = server.get(path, &[]);
        assert_eq!(page.status, 400, "{path}");
        let error = page.body.split("class=\"error\"").nth(1).expect("an error");
        let error = &error[..error.find("</p>").expect("its end")];
        assert!(error.contains(field), "{path}: {error}");
        assert!(!error.contains("--"), "{path}: {error}");
    }

    for path in [
        "/api/rank?top=abc",
        "/api/rank?top=%ZZ",
        "/api/rank?by=sideways",
        "/api/rank?metrik=sharpe",
        "/api/rank?runs=maybe",
        "/api/rank?deflated&metric=cagr",
        "/api/runs?where=(((",
        "/api/runs?where=sharpe%20%3E",
        "/api/runs?limit=0",
        "/api/runs?limit=99999999999999999999",
        "/api/runs?after=1&before=2",
        "/api/runs/abc",
        "/api/runs/133/trades?limit=0",
        "/api/runs/133/trades?after=x",
        "/api/runs/133/trades?colour=red",
        "/api/compare",
        "/api/compare?strategy=nobody",
        "/api/compare?strategy=sma_cross&x=nothing",
        "/api/compare?strategy=sma_cross&plot=/tmp/btdb-serve-test.svg&x=fast",
        "/api/side-by-side?id=1",
        "/api/side-by-side?id=1&id=x",
        "/api/side-by-side?id=1&id=2&id=3&id=4&id=5&id=6&id=7&id=8&id=9",
        "/api/strategies/nobody",
        "/api/rank?where=%FF%FE",
        // A NUL the database would refuse: the request's fault, not an outage.
        "/api/runs?strategy=a%00b",
        "/api/runs?where=params.x%20%3D%20%27a%00b%27",
        "/api/rank?metric=sharpe&dataset=%00",
        "/api/strategies/a%00b",
    ] {
        let response = server.get(path, &[]);
        assert_eq!(response.status, 400, "GET {path}: {}", response.body);
        let body: Value =
            serde_json::from_str(&response.body).unwrap_or_else(|e| panic!("{path}: {e}"));
        let message = body["error"].as_str().expect("a message");
        assert!(
            !message.is_empty() && !message.contains('\n'),
            "{path}: {message}"
        );
    }
    assert!(
        !std::path::Path::new("/tmp/btdb-serve-test.svg").exists(),
        "a request wrote a file"
    );
    for path in ["/api/runs?strategy=a%00b", "/api/strategies/a%00b"] {
        let body = server.get(path, &[]).body;
        assert!(
            body.contains("holds a NUL character (%00)"),
            "{path}: {body}"
        );
    }
    for path in [
        "/runs?dataset=%00",
        "/runs/abc",
        "/runs?limit=-1",
        "/strategies/nobody",
        "/side-by-side?id=1",
        "/strategies/sma_cross?x=nothing",
    ] {
        let response = server.get(path, &[]);
        assert_eq!(response.status, 400, "GET {path}");
        assert!(response.body.contains("class=\"error\""), "{path}");
    }
    // A run that does not exist is not found, with the CLI's words.
    for path in [
        "/api/runs/999999",
        "/api/runs/999999/trades",
        "/api/runs?key=nokey",
        "/api/side-by-side?id=1&id=999999",
    ] {
        let response = server.get(path, &[]);
        assert_eq!(response.status, 404, "GET {path}: {}", response.body);
        assert!(
            response.body.contains("no run with"),
            "{path}: {}",
            response.body
        );
    }
    assert_eq!(server.get("/runs/999999", &[]).status, 404);
    assert_eq!(server.get("/no/such/page", &[]).status, 404);
    assert_eq!(server.get("/api/nothing", &[]).status, 404);
    assert!(server.get("/api/rank", &[]).status == 200, "still serving");
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_names_show_as_text() {
    let db = TestDb::new().await;
    record_hostile(&db);
    let strategy = HOSTILE;
    let server = Server::start(db.url(), &[]);
    let paths = [
        "/".to_owned(),
        format!("/strategies/{}", enc(strategy).replace('+', "%20")),
        "/runs".to_owned(),
        "/runs/1".to_owned(),
        "/side-by-side?id=1&id=2".to_owned(),
    ];
    for path in &paths {
        let page = server.ok(path);
        for raw in ["<img src=x", "<script>alert", "<b>x</b>"] {
            assert!(!page.contains(raw), "GET {path} holds {raw} unescaped");
        }
        assert!(
            page.contains("&lt;img src=x onerror=alert(1)&gt;") || path.starts_with("/side"),
            "GET {path}"
        );
        // A chart is no <bdi>: a right-to-left override in a name would reorder its titles
        // and labels, so it shows as its escape there.
        for chart in page.split("<svg").skip(1) {
            let chart = chart.split("</svg>").next().unwrap_or_default();
            assert!(
                !chart.contains('\u{202e}'),
                "GET {path}: a chart holds U+202E"
            );
        }
    }
    let charts: usize = paths
        .iter()
        .map(|p| server.ok(p).matches("\\u{202e}").count())
        .sum();
    assert!(charts > 0, "the override shows as its escape in some chart");
    // A run's trades by symbol and by exit reason, their names as text.
    let run = server.ok("/runs/1");
    for heading in [
        "Trades by symbol",
        "Trades by exit reason",
        "Trades by entry tag",
    ] {
        assert!(run.contains(heading), "/runs/1 lacks {heading}");
    }
    assert!(run.contains("&lt;script&gt;alert(4)&lt;/script&gt;"));
    assert!(run.contains("&lt;i&gt;A&lt;/i&gt;"));
    let strategy_page = server.ok(&paths[1]);
    assert!(
        strategy_page.contains("&lt;b&gt;x&lt;/b&gt;"),
        "the parameter's name shows as text"
    );
    let rank = server.json("/api/rank");
    assert_eq!(rank[0]["strategy"]["name"], strategy);
}

#[tokio::test(flavor = "multi_thread")]
async fn only_requests_carrying_the_token_are_answered_off_loopback() {
    let db = TestDb::new().await;
    let refused = Server::try_start(db.url(), &["--bind", "0.0.0.0:0"]).expect_err("refused");
    assert_eq!(refused.lines().count(), 1, "{refused}");
    assert!(
        refused.contains("not a loopback address") && refused.contains("--token"),
        "{refused}"
    );
    let short =
        Server::try_start(db.url(), &["--bind", "0.0.0.0:0", "--token", "abc"]).expect_err("short");
    assert!(short.contains("at least 16"), "{short}");

    let token = "s3cret-token-for-the-test-0123456789";
    let server = Server::start(db.url(), &["--bind", "0.0.0.0:0", "--token", token]);
    let address = server.address.replace("0.0.0.0", "127.0.0.1");
    let get = |path: &str, headers: &[(&str, &str)]| request(&address, "GET", path, headers, None);

    let bare = get("/api/runs", &[]);
    assert_eq!(bare.status, 401);
    assert!(bare.header("www-authenticate").is_some());
    let bearer = format!("Bearer {token}");
    assert_eq!(get("/api/runs", &[("Authorization", &bearer)]).status, 200);
    assert_eq!(
        get(
            "/api/runs",
            &[(
                "Authorization",
                "Bearer s3cret-token-for-the-test-012345678"
            )]
        )
        .status,
        401
    );
    assert_eq!(
        get(
            "/api/rank",
            &[("Authorization", &format!("Bearer {token}x"))]
        )
        .status,
        401
    );

    // A browser goes to the login form, which sets a cookie that is not the token.
    let page = get("/runs?limit=3", &[]);
    assert_eq!(page.status, 303);
    assert_eq!(
        page.header("location"),
        Some("/login?next=%2Fruns%3Flimit%3D3")
    );
    let form = get("/login?next=%2Fruns%3Flimit%3D3", &[]);
    assert_eq!(form.status, 200);
    assert!(form.body.contains("method=\"post\""));
    let log_in = |body: &str| {
        request(
            &address,
            "POST",
            "/login",
            &[],
            Some(("application/x-www-form-urlencoded", body)),
        )
    };
    let wrong = log_in("token=nope&next=%2Fruns");
    assert_eq!(wrong.status, 401);
    assert!(wrong.header("set-cookie").is_none());
    let body = format!("token={}&next=%2Fruns%3Flimit%3D3", enc(token));
    let login = log_in(&body);
    assert_eq!(login.status, 303);
    assert_eq!(login.header("location"), Some("/runs?limit=3"));
    let cookie = login.header("set-cookie").expect("a cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(!cookie.contains(token), "the cookie holds the token itself");
    let session = cookie.split(';').next().expect("name=value");
    assert_eq!(get("/runs?limit=3", &[("Cookie", session)]).status, 200);
    assert_eq!(
        get("/runs?limit=3", &[("Cookie", "btdb_session=0000")]).status,
        303
    );
    let open_redirect = log_in(&format!("token={}&next=%2F%2Fevil.example", enc(token)));
    assert_eq!(open_redirect.header("location"), Some("/"));

    // A session lasts --session-hours (12 by default), and each login is a session of its own.
    assert!(cookie.contains("Max-Age=43200"), "{cookie}");
    let other = log_in(&body);
    let other = other
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("another session")
        .to_owned();
    assert_ne!(other, session);
    // Logging out ends that session, here and wherever its cookie went, and no other.
    let page = get("/runs?limit=3", &[("Cookie", session)]);
    assert!(
        page.body.contains("action=\"/logout\""),
        "a page offers to log out"
    );
    let out = request(&address, "POST", "/logout", &[("Cookie", session)], None);
    assert_eq!(out.status, 303);
    assert_eq!(out.header("location"), Some("/login"));
    assert!(
        out.header("set-cookie")
            .is_some_and(|c| c.contains("Max-Age=0")),
        "the browser forgets the cookie"
    );
    assert_eq!(get("/runs?limit=3", &[("Cookie", session)]).status, 303);
    assert_eq!(get("/runs?limit=3", &[("Cookie", &other)]).status, 200);

    // Guessing the token: ten wrong tokens, then the address is refused, even the right token,
    // for a while; scripts with the bearer token go on.
    for _ in 0..9 {
        assert_eq!(log_in("token=guess&next=%2F").status, 401);
    }
    let refused = log_in(&body);
    assert_eq!(refused.status, 429);
    assert!(
        refused.body.contains("Too many wrong tokens"),
        "{}",
        refused.body
    );
    let wait: u64 = refused
        .header("retry-after")
        .and_then(|s| s.parse().ok())
        .expect("Retry-After seconds");
    assert!((1..=300).contains(&wait), "{wait}");
    assert_eq!(get("/api/runs", &[("Authorization", &bearer)]).status, 200);

    let (status, log) = server.stop();
    assert!(status.success(), "{log}");
    assert!(!log.contains(token), "the token was logged: {log}");
}

/// Polls `path` until its answer satisfies `heard`, the sign that the change announced at a
/// commit has reached the server: within a few seconds, or the test fails.
fn until_heard(server: &Server, path: &str, heard: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let answer = server.json(path);
        if heard(&answer) {
            return answer;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the change never reached {path}: {answer}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cached_answers_are_dropped_by_any_change_from_any_process() {
    let db = demo().await;
    let server = Server::start(db.url(), &[]);
    let path = "/api/rank?top=1";
    let before = server.until_cached(path);
    assert_eq!(before[0]["strategy"]["name"], "mean_reversion");

    // Another process records: once its announcement arrives (PostgreSQL sends it at commit,
    // to be delivered a moment later), the answers have the new run, and so does the next one
    // kept.
    let doc = r#"{"run_key":"new:1","strategy":"zz_new","params":{"a":1},"dataset":"D","metrics":{"sharpe":9.5}}"#;
    let out = btdb(&db, &["record", "-"], Some(doc));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let after = until_heard(&server, path, |a| a[0]["strategy"]["name"] == "zz_new");
    assert_eq!(after[0]["strategy"]["name"], "zz_new");
    assert_eq!(server.until_cached(path)[0]["strategy"]["name"], "zz_new");

    // A plain SQL session changes a metric: dropped as well.
    server.until_cached(path);
    let mut conn = db.conn().await;
    conn.batch_execute("UPDATE metrics SET value = 20 WHERE name = 'sharpe' AND run_id = 5")
        .await
        .expect("update");
    until_heard(&server, path, |a| a[0]["score"] == 20.0);
    assert_eq!(server.until_cached(path)[0]["score"], 20.0);

    // The listening session is cut: no answer is kept until it is back, and none is stale.
    server.until_cached(path);
    conn.batch_execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .await
    .expect("terminate");
    std::thread::sleep(Duration::from_millis(300));
    conn.batch_execute("UPDATE metrics SET value = 30 WHERE name = 'sharpe' AND run_id = 5")
        .await
        .expect("update");
    // Nothing was kept while the listener was down: the first answer is already the new one.
    assert_eq!(server.json(path)[0]["score"], 30.0);
    assert_eq!(server.until_cached(path)[0]["score"], 30.0);
    // And once it is back, changes are heard again.
    conn.batch_execute("DELETE FROM metrics WHERE name = 'sharpe' AND run_id = 5")
        .await
        .expect("delete");
    until_heard(&server, path, |a| a[0]["strategy"]["name"] == "zz_new");
    assert_eq!(server.until_cached(path)[0]["strategy"]["name"], "zz_new");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_that_goes_away_gets_503_and_is_served_again_once_back() {
    let db = demo().await;
    let server = Server::start(db.url(), &["--connect-timeout", "1"]);
    server.ok("/api/rank");
    let name = db
        .url()
        .rsplit('/')
        .next()
        .and_then(|n| n.split('?').next())
        .expect("the database's name")
        .to_owned();
    let admin = btdb::db::url::with_database(db.url(), "postgres").expect("test URL");
    let mut conn = btdb::db::establish(&admin, Duration::from_secs(10))
        .await
        .expect("admin connection");
    conn.batch_execute(&format!(
        "ALTER DATABASE {name} ALLOW_CONNECTIONS false;
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .await
    .expect("closing the database");
    std::thread::sleep(Duration::from_millis(200));
    for path in ["/api/rank", "/api/runs/1", "/"] {
        let response = server.get(path, &[]);
        assert_eq!(response.status, 503, "GET {path}: {}", response.body);
        assert!(!response.body.contains("password"), "{}", response.body);
    }
    conn.batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .await
        .expect("opening the database");
    let started = Instant::now();
    while server.get("/api/rank", &[]).status != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never served again"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(server.get("/", &[]).status, 200);
}

/// A pooled connection is handed out without asking the server first: one the server closed
/// while it was idle is known closed and replaced, so no request after it fails.
#[tokio::test(flavor = "multi_thread")]
async fn connections_the_server_closed_while_idle_are_replaced_unseen() {
    let db = demo().await;
    let server = Server::start(db.url(), &["--pool-size", "3"]);
    for _ in 0..6 {
        server.ok("/api/rank");
    }
    let mut conn = btdb::db::establish(db.url(), Duration::from_secs(10))
        .await
        .expect("a connection");
    conn.batch_execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .await
    .expect("closing the server's connections");
    std::thread::sleep(Duration::from_millis(200));
    for path in ["/api/rank", "/api/runs/1", "/", "/api/rank", "/runs"] {
        server.ok(path);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_the_server_cleanly_and_every_request_was_logged() {
    let db = TestDb::new().await;
    let server = Server::start(db.url(), &[]);
    assert_eq!(
        server.get("/api/rank?metric=sharpe", &[]).status,
        400,
        "no runs: no metric"
    );
    server.ok("/runs");
    // A secret put in a URL by mistake is not written to the log.
    let leaked = "/api/rank?metric=sharpe&token=s3cr3t-t0ken-value&Password=hunter2";
    assert_eq!(server.get(leaked, &[]).status, 400);
    let (status, log) = server.stop();
    assert!(status.success(), "{log}");
    assert!(!log.contains("s3cr3t") && !log.contains("hunter2"), "{log}");
    assert!(
        log.contains("GET /api/rank?metric=sharpe&token=***&Password=*** 400"),
        "{log}"
    );
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("GET ")).collect();
    assert_eq!(lines.len(), 3, "{log}");
    assert!(
        lines[0].contains("GET /api/rank?metric=sharpe 400") && lines[0].ends_with(" ms"),
        "{log}"
    );
    assert!(lines[1].contains("GET /runs 200"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_answer_cache_stays_within_its_size_under_distinct_large_answers() {
    // 400 runs of 100 metrics: a listing of them all is about 0.85 MB of JSON.
    let db = TestDb::new().await;
    let docs: Vec<String> = (0..400)
        .map(|i| {
            let metrics: serde_json::Map<String, Value> = (0..100)
                .map(|m| {
                    (
                        format!("metric_{m:02}"),
                        Value::from(f64::from(i * m) / 7.0),
                    )
                })
                .collect();
            serde_json::json!({
                "run_key": format!("wide:{i}"), "strategy": "wide", "dataset": "d",
                "metrics": metrics,
            })
            .to_string()
        })
        .collect();
    let out = btdb(&db, &["record", "-q", "-"], Some(&docs.join("\n")));
    assert!(out.status.success(), "{}", text(&out.stderr));

    let limit = 4 << 20;
    let server = Server::start(db.url(), &["--cache-size", "4MiB"]);
    let first = "/api/runs?limit=400";
    server.until_cached(first);
    let before = server.rss_bytes();
    // 250 distinct answers, 200 MB in all: each a miss, each kept, the oldest dropped to
    // make room.
    let mut served = 0;
    for limit in 151..=400 {
        let path = format!("/api/runs?limit={limit}&sort=metric_01");
        let response = server.get(&path, &[]);
        assert_eq!(response.status, 200, "{path}: {}", response.body);
        served += response.body.len();
    }
    assert!(served > 150 << 20, "{served} bytes served");
    let status = server.json("/api/status");
    let bytes = status["cache"]["bytes"].as_u64().expect("bytes");
    assert_eq!(status["cache"]["limit"].as_u64(), Some(limit));
    assert!(bytes <= limit && bytes > limit / 2, "{status}");
    // The newest answer is kept; the first went long ago.
    let last = server.get("/api/runs?limit=400&sort=metric_01", &[]);
    assert_eq!(last.header("x-btdb-cache"), Some("hit"));
    assert_eq!(server.get(first, &[]).header("x-btdb-cache"), Some("miss"));
    // What the process grew by is the cache's bound and the work of a request, not the
    // 200 MB it answered.
    let grown = server.rss_bytes().saturating_sub(before);
    assert!(grown < 96 << 20, "the server grew by {} MB", grown >> 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_naming_another_host_is_refused() {
    let db = TestDb::new().await;
    let server = Server::start(db.url(), &["--allow-host", "btdb.example.internal"]);
    let port = server
        .address
        .rsplit(':')
        .next()
        .expect("a port")
        .to_owned();
    let with_host = |host: &str| server.get("/api/runs", &[("Host", host)]);
    // What a page served from another site gets when its name resolves to 127.0.0.1.
    let rebound = with_host(&format!("attacker.example:{port}"));
    assert_eq!(rebound.status, 421);
    assert!(
        rebound
            .body
            .contains("this server is not `attacker.example:"),
        "{}",
        rebound.body
    );
    assert_eq!(
        server
            .get("/runs", &[("Host", &format!("attacker.example:{port}"))])
            .status,
        421
    );
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("btdb.example.internal:{port}"),
    ] {
        assert_eq!(with_host(&host).status, 200, "{host}");
    }
    assert_eq!(with_host("localhost:1").status, 421);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_basket_survives_every_page_and_the_check_keeps_the_heatmap() {
    let db = demo().await;
    let server = Server::start(db.url(), &[]);
    let picked = "pick=1&pick=2&pick=3";
    for path in [
        format!("/?{picked}"),
        format!("/strategies/sma_cross?{picked}"),
        format!("/runs?{picked}"),
        format!("/runs/4?{picked}"),
    ] {
        let page = server.ok(&path);
        assert!(page.contains("Picked:"), "GET {path}: no basket bar");
        // Every link to a strategy, a run or a listing carries the three runs on.
        for href in page.split("href=\"").skip(1) {
            let href = href
                .split('"')
                .next()
                .unwrap_or_default()
                .replace("&amp;", "&");
            let inner = ["/strategies/", "/runs"]
                .iter()
                .any(|p| href.starts_with(p));
            if inner && !href.ends_with(".csv") && !href.contains(".csv?") {
                let kept = ["pick=1", "pick=2", "pick=3"]
                    .iter()
                    .filter(|p| href.contains(*p))
                    .count();
                // A drop link keeps the two others.
                assert!(kept >= 2, "GET {path}: {href} drops the basket");
                assert!(!href.contains("?&") && !href.contains("&&"), "{href}");
            }
        }
    }
    // A heatmap cell's link: the strategy, the page's data set, the cell's parameters, best
    // first, the basket.
    let page = server.ok(&format!("/strategies/sma_cross?x=slow&y=fast&{picked}"));
    let cell = page
        .split("href=\"")
        .map(|h| {
            h.split('"')
                .next()
                .unwrap_or_default()
                .replace("&amp;", "&")
        })
        .find(|h| h.contains("where=params.slow"))
        .expect("a cell's link");
    let keys: Vec<&str> = cell
        .trim_start_matches("/runs?")
        .split('&')
        .map(|pair| pair.split('=').next().unwrap_or_default())
        .collect();
    assert_eq!(
        keys,
        [
            "strategy", "dataset", "where", "sort", "pick", "pick", "pick"
        ],
        "{cell}"
    );
    assert!(cell.starts_with("/runs?strategy=sma_cross&"), "{cell}");
    assert!(cell.contains("&where=params.slow+%3D+"), "{cell}");
    // The in-sample check is submitted with the heatmap's choices, and answers with them.
    let page = server.ok("/strategies/sma_cross?x=slow&y=fast&dataset=SYNA-1d-IS");
    let check = page
        .split("In sample against out of sample")
        .nth(1)
        .expect("the check's form");
    for field in [
        r#"name="x" value="slow""#,
        r#"name="y" value="fast""#,
        r#"name="dataset" value="SYNA-1d-IS""#,
    ] {
        assert!(check.contains(field), "the check's form lacks {field}");
    }
    let checked = server
        .ok("/strategies/sma_cross?x=slow&y=fast&dataset=SYNA-1d-IS&is=SYNA-1d-IS&oos=SYNA-1d-OOS");
    assert!(checked.contains("Spearman rank correlation"));
    assert!(
        checked.contains(r#"<option value="slow" selected>"#),
        "x stays slow"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_trades_of_a_run_page_both_ways() {
    let db = TestDb::new().await;
    let trades: Vec<Value> = (0..120)
        .map(|i| {
            serde_json::json!({
                "symbol": format!("S{i}"), "side": "long", "quantity": "1",
                "entry_time": "2024-01-01T00:00:00Z", "entry_price": "10",
                "exit_time": "2024-01-02T00:00:00Z", "exit_price": "11",
            })
        })
        .collect();
    let doc = serde_json::json!({
        "run_key": "many-trades", "strategy": "s", "dataset": "D", "trades": trades,
        "equity": [["2024-01-01T00:00:00Z", 100], ["2024-01-02T00:00:00Z", 220]],
    });
    let out = common::cli::btdb(&db, &["record", "-"], Some(&doc.to_string()));
    assert!(out.status.success());
    let server = Server::start(db.url(), &[]);
    let link = |page: &str, class: &str| -> Option<String> {
        let at = page.find(&format!("class=\"{class}\" href=\""))?;
        let rest = &page[at + class.len() + 15..];
        Some(rest[..rest.find('"')?].replace("&amp;", "&"))
    };
    let first_symbol = |page: &str| -> String {
        let table = page.split("table class=\"trades\"").nth(1).expect("trades");
        let cell = table.split("<bdi>").nth(1).expect("a symbol");
        cell[..cell.find('<').expect("end")].to_owned()
    };
    // Forward by "later", then back by "earlier", to the same pages.
    let mut pages = vec![server.ok("/runs/1?pick=1")];
    while let Some(next) = link(pages.last().expect("a page"), "next") {
        pages.push(server.ok(&next));
    }
    let firsts: Vec<String> = pages.iter().map(|p| first_symbol(p)).collect();
    assert_eq!(firsts, ["S0", "S50", "S100"]);
    assert!(
        link(&pages[0], "previous").is_none(),
        "no page before the first"
    );
    for k in (1..pages.len()).rev() {
        let back = link(&pages[k], "previous").expect("earlier trades");
        assert!(back.contains("pick=1"), "{back}");
        assert_eq!(first_symbol(&server.ok(&back)), firsts[k - 1], "{back}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_parameter_constant_in_the_sweep_gives_a_line_not_a_blank_heatmap() {
    let db = TestDb::new().await;
    let docs: Vec<String> = [5, 10, 20]
        .iter()
        .map(|fast| {
            serde_json::json!({
                "run_key": format!("c{fast}"), "strategy": "const", "dataset": "D",
                "params": {"fast": fast, "slow": 30}, "metrics": {"sharpe": f64::from(*fast) / 10.0},
                "equity": [["2024-01-01T00:00:00Z", 100], ["2024-01-02T00:00:00Z", 101]],
            })
            .to_string()
        })
        .collect();
    let out = common::cli::btdb(&db, &["record", "-"], Some(&docs.join("\n")));
    assert!(out.status.success());
    let server = Server::start(db.url(), &[]);
    // Opened on its first two parameters, fast and slow; and asked the other way round.
    for query in ["", "?x=slow&y=fast"] {
        let page = server.ok(&format!("/strategies/const{query}"));
        assert!(
            page.contains(
                "<bdi>slow</bdi> is 30 in every run here, so the chart is by <bdi>fast</bdi> alone."
            ),
            "{query}"
        );
        let svg = page
            .split("<svg")
            .nth(1)
            .and_then(|s| s.split("</svg>").next())
            .expect("a chart");
        assert!(
            svg.contains("sharpe by fast (slow = 30 in every run)"),
            "{query}"
        );
        // One point a value of fast, each a link to its runs.
        let links: std::collections::BTreeSet<&str> = svg
            .split("<a href=\"/runs?")
            .skip(1)
            .filter_map(|a| a.split('"').next())
            .collect();
        assert_eq!(links.len(), 3, "{query}: {links:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn notes_are_written_from_the_pages_and_never_from_another_site() {
    let db = demo().await;
    let server = Server::start(db.url(), &[]);
    let form = "application/x-www-form-urlencoded";
    let origin = format!("http://{}", server.address);
    let post = |path: &str, body: &str, from: &str| {
        request(
            &server.address,
            "POST",
            path,
            &[("Origin", from)],
            Some((form, body)),
        )
    };
    // Kept first, so that the note must drop the kept answer to be seen.
    server.ok("/runs/5");
    let written = post(
        "/runs/5/note",
        "note=too+good+%3Cb%3Eto%3C%2Fb%3E+be+true&back=%2Fruns%2F5%3Fpick%3D5",
        &origin,
    );
    assert_eq!(written.status, 303, "{}", written.body);
    assert_eq!(written.header("location"), Some("/runs/5?pick=5"));
    let page = server.ok("/runs/5");
    assert!(
        page.contains("too good &lt;b&gt;to&lt;/b&gt; be true"),
        "the note, as text"
    );
    assert_eq!(
        cli_json(&db, &["show", "5"])["note"],
        "too good <b>to</b> be true"
    );
    let found = server.ok("/runs?note=GOOD");
    assert!(found.contains("1 run matches"), "found by a word of it");
    // A sweep's note, shown on its strategy's page.
    let written = post(
        "/sweeps/demo/note",
        "note=first+grid&back=%2Fstrategies%2Fsma_cross",
        &origin,
    );
    assert_eq!(written.status, 303, "{}", written.body);
    assert!(
        server
            .ok("/strategies/sma_cross")
            .contains("value=\"first grid\"")
    );
    // A form posted from elsewhere, or sent back somewhere else, writes nothing there.
    let foreign = post("/runs/5/note", "note=pwned", "http://evil.example");
    assert_eq!(foreign.status, 403);
    let away = post(
        "/runs/5/note",
        "note=kept&back=https%3A%2F%2Fevil.example",
        &origin,
    );
    assert_eq!(away.header("location"), Some("/"));
    assert_eq!(cli_json(&db, &["show", "5"])["note"], "kept");
    let missing = post("/runs/99999/note", "note=x", &origin);
    assert_eq!(missing.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn side_by_side_warns_of_unlike_bars_and_aligns_by_elapsed_time() {
    let db = TestDb::new().await;
    let docs: Vec<String> = [("2020", 252.0), ("2023", 8760.0)]
        .iter()
        .enumerate()
        .map(|(i, (year, bars))| {
            serde_json::json!({
                "run_key": format!("r{i}"), "strategy": "s", "dataset": format!("D{i}"),
                "periods_per_year": bars,
                "equity": [[format!("{year}-01-01T00:00:00Z"), 100], [format!("{year}-03-01T00:00:00Z"), 104], [format!("{year}-06-01T00:00:00Z"), 101]],
            })
            .to_string()
        })
        .collect();
    let out = common::cli::btdb(&db, &["record", "-"], Some(&docs.join("\n")));
    assert!(out.status.success());
    let server = Server::start(db.url(), &[]);
    let page = server.ok("/side-by-side?id=1&id=2");
    assert!(page.contains("These runs are of unlike bars (252, 8,760 periods a year)"));
    assert!(page.contains("align by elapsed time to lay them over one another"));
    // By elapsed time: both from 0, the axis counting months since.
    let page = server.ok("/side-by-side?id=1&id=2&align=elapsed");
    let svg = page.split("<svg").nth(1).expect("a chart");
    let labels: Vec<&str> = svg
        .split("<text")
        .skip(1)
        .filter_map(|t| t.split('>').nth(1)?.split('<').next())
        .map(str::trim)
        .collect();
    assert!(
        labels.contains(&"0 mo") && labels.contains(&"3 mo"),
        "{labels:?}"
    );
    assert!(
        !labels.iter().any(|l| l.starts_with("20")),
        "no calendar dates: {labels:?}"
    );
    let bad = server.get("/side-by-side?id=1&id=2&align=sideways", &[]);
    assert_eq!(bad.status, 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sweep_is_seen_whole_every_mark_a_link_to_its_run() {
    let db = TestDb::new().await;
    // 200 trials of a search: fast moves sharpe, kind a little; calmar trades off against it.
    let docs: Vec<String> = (0..200)
        .map(|i: i32| {
            let fast = i % 20 + 1;
            let kind = ["ema", "sma"][(i / 20 % 2) as usize];
            let sharpe = f64::from(fast) / 10.0 + if kind == "ema" { 0.05 } else { 0.0 };
            let calmar = 3.0 - f64::from((i * 7) % 23) / 10.0;
            serde_json::json!({
                "run_key": format!("t{i}"), "strategy": "opt", "dataset": "D", "sweep": "study",
                "trial": i, "params": {"fast": fast, "kind": kind},
                "metrics": {"sharpe": sharpe, "calmar": calmar},
                "equity": [["2024-01-01T00:00:00Z", 100], ["2024-01-02T00:00:00Z", 101]],
            })
            .to_string()
        })
        .collect();
    let out = common::cli::btdb(&db, &["record", "-"], Some(&docs.join("\n")));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let server = Server::start(db.url(), &[]);
    let page = server.ok("/sweeps/study?metric=sharpe&pareto=calmar");
    let charts: Vec<&str> = page
        .split("<svg")
        .skip(1)
        .filter_map(|s| s.split("</svg>").next())
        .collect();
    // Parallel coordinates: one line per run, each leading to it.
    let parallel = charts[0];
    let lines: Vec<&str> = parallel
        .split("<a href=\"/runs/")
        .skip(1)
        .filter(|a| a.contains("<polyline class=\"run\""))
        .filter_map(|a| a.split('"').next())
        .collect();
    assert_eq!(lines.len(), 200);
    let ids: std::collections::BTreeSet<&str> = lines.iter().copied().collect();
    assert_eq!(ids.len(), 200, "each run once");
    let one = server.ok(&format!("/runs/{}", lines[0]));
    assert!(one.contains("Run "), "a line leads to its run");
    assert!(parallel.contains("one line a run, 200 runs"));
    // Importance: the bars' shares add up to 100%, fast first.
    let importance = charts[1];
    let shares: Vec<f64> = importance
        .split(" explains ")
        .skip(1)
        .filter_map(|s| s.split('%').next()?.parse().ok())
        .collect();
    assert_eq!(shares.len(), 2);
    assert!(
        (shares.iter().sum::<f64>() - 100.0).abs() < 0.02,
        "{shares:?}"
    );
    assert!(
        importance.find(">fast<") < importance.find(">kind<"),
        "fast first"
    );
    // The search by trial, with the best so far; and the Pareto front as computed here.
    assert!(page.contains("Optimisation history") && page.contains("class=\"best\""));
    let points: Vec<(i32, f64, f64)> = (0..200)
        .map(|i: i32| {
            let fast = i % 20 + 1;
            let kind_bonus = if i / 20 % 2 == 0 { 0.05 } else { 0.0 };
            (
                i,
                f64::from(fast) / 10.0 + kind_bonus,
                3.0 - f64::from((i * 7) % 23) / 10.0,
            )
        })
        .collect();
    let front: std::collections::BTreeSet<i32> = points
        .iter()
        .filter(|(_, s, c)| {
            !points
                .iter()
                .any(|(_, s2, c2)| s2 >= s && c2 >= c && (s2 > s || c2 > c))
        })
        .map(|(i, _, _)| *i)
        .collect();
    let listed = page
        .split("runs no other run beats on both: ")
        .nth(1)
        .expect("the front's runs")
        .split("</p>")
        .next()
        .unwrap_or_default()
        .matches(">run ")
        .count();
    assert_eq!(listed, front.len());
    // Mistakes: a sweep or a metric that is not there.
    let missing = server.get("/sweeps/studdy", &[]);
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("did you mean `study`"));
    let metric = server.get("/sweeps/study?metric=sharp", &[]);
    assert_eq!(metric.status, 400);
    assert!(metric.body.contains("did you mean `sharpe`"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_strategy_page_estimates_overfitting_on_its_data_set() {
    let db = demo().await;
    let server = Server::start(db.url(), &[]);
    let cli = cli_json(
        &db,
        &[
            "compare",
            "--strategy",
            "sma_cross",
            "--pbo",
            "--dataset",
            "SYNA-1d-IS",
            "--partitions",
            "8",
        ],
    );
    let probability = cli["pbo"]["probability"].as_f64().expect("a probability");
    let page =
        server.ok("/strategies/sma_cross?pbo=true&dataset=SYNA-1d-IS&partitions=8&x=fast&y=slow");
    let shown = page
        .split("probability of backtest overfitting</dt><dd>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("the estimate");
    assert_eq!(shown, format!("{:.2}%", probability * 100.0));
    // The heatmap stays as it was asked, beside the estimate.
    assert!(page.contains(r#"<option value="fast" selected>"#));
    // The best runs beside it, as `rank --runs --psr` ranks them on that data set.
    let ranked = cli_json(
        &db,
        &[
            "rank",
            "--runs",
            "--psr",
            "--top",
            "10",
            "--strategy",
            "sma_cross",
            "--dataset",
            "SYNA-1d-IS",
        ],
    );
    let best = page
        .split("Best runs by sharpe")
        .nth(1)
        .and_then(|s| s.split("</table>").next())
        .expect("the best runs");
    assert_eq!(
        best.matches("<tr>").count() - 1,
        10,
        "a header and ten runs"
    );
    let first = &ranked[0];
    assert!(
        best.contains(&format!(">{}</a>", first["run"]["id"])),
        "{best}"
    );
    let psr = first["confidence"]["psr"].as_f64().expect("a PSR");
    assert!(best.contains(&format!("{:.2}%", psr * 100.0)), "{best}");
    // Pooled over data sets there is nothing to estimate: said in the section, not a 400.
    let pooled = server.ok("/strategies/sma_cross?pbo=true&dataset=");
    assert!(pooled.contains("the estimate is of one data set: choose one above"));
}
