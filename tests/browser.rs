//! `btdb serve` in headless Chromium, as an analyst uses it: every page loads with no console
//! error, the charts draw, the filter form and the paging work by clicking, and a strategy
//! named like an XSS payload opens no dialog.

mod common;

use common::TestDb;
use common::browser::{self, Browser};
use common::cli::{ok, page_ids};
use common::serve::{HOSTILE, Server, record_hostile};

/// The browser, or `None` (with one line saying so) where none is installed.
fn browser() -> Option<Browser> {
    common::tools::CHROMIUM
        .or_skip("the browser tests")
        .map(|path| Browser::launch(&path))
}

async fn demo() -> TestDb {
    let db = TestDb::new().await;
    let dir = common::scratch_dir("browser-demo");
    ok(&db, &["demo", "--out", dir.to_str().expect("path")]);
    db
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_loads_clean_and_its_charts_draw() {
    let Some(mut browser) = browser() else { return };
    let db = demo().await;
    let server = Server::start(db.url(), &[]);
    let pages = [
        "/",
        "/?metric=cagr&by=median",
        "/strategies/sma_cross",
        "/strategies/momentum?is=SYNA-1d-IS&oos=SYNA-1d-OOS",
        "/runs",
        "/runs/133",
        "/runs/133?trades-after=2",
        "/side-by-side?id=1&id=133&id=200",
        "/no/such/page",
    ];
    for page in pages {
        browser.open(&format!("{}{page}", server.base));
        let title = browser.eval("document.title");
        assert!(
            title.as_str().is_some_and(|t| t.ends_with("· btdb")),
            "{page}: {title}"
        );
        // The style sheet applied: the header is dark.
        let header =
            browser.eval("getComputedStyle(document.querySelector('header')).backgroundColor");
        assert_eq!(header, "rgb(29, 35, 48)", "{page}");
    }
    // The missing page's 404 is the one console error: the browser reports failed loads.
    let problems = browser.problems();
    assert!(
        problems.iter().all(|p| p.contains("404")),
        "console errors: {problems:#?}"
    );
    assert_eq!(problems.len(), 1, "{problems:#?}");

    for (page, cells) in [
        ("/strategies/sma_cross", 30),
        ("/runs/133", 0),
        ("/side-by-side?id=1&id=133", 0),
    ] {
        browser.open(&format!("{}{page}", server.base));
        let png = browser.screenshot(".chart");
        let (inked, colours) = browser::ink(&png);
        assert!(
            inked > 0.05 && colours > 10,
            "{page}: chart looks blank ({inked:.3} inked, {colours} colours)"
        );
        let hover = browser.eval("document.querySelectorAll('.chart rect.cell title').length");
        assert_eq!(hover, cells, "{page}: cells with a value on hover");
    }
    browser.open(&format!("{}/strategies/sma_cross", server.base));
    let tip = browser.eval("document.querySelector('.chart rect.cell title').textContent");
    assert!(
        tip.as_str()
            .is_some_and(|t| t.starts_with("fast = 5, slow = 50: mean sharpe ")),
        "{tip}"
    );
    assert!(browser.problems().len() == 1, "no new console error");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_filter_form_paging_and_side_by_side_work_by_clicking() {
    let Some(mut browser) = browser() else { return };
    let db = demo().await;
    let server = Server::start(db.url(), &[]);
    let shown = |browser: &mut Browser| -> Vec<i64> {
        let ids = browser.eval(
            "[...document.querySelectorAll('table.runs tbody td.num a')].map(a => Number(a.textContent))",
        );
        serde_json::from_value(ids).expect("ids")
    };
    browser.open(&format!("{}/runs?limit=10", server.base));
    assert_eq!(
        shown(&mut browser),
        page_ids(&ok(&db, &["runs", "--limit", "10", "--format", "json"]))
    );

    browser.type_into("input[name=where]", "params.fast = 10 and sharpe > 0");
    browser.type_into("input[name=strategy]", "sma_cross");
    browser.click_and_wait("form.filters button");
    let cli = |extra: &[&str]| {
        let mut args = vec![
            "runs",
            "--limit",
            "10",
            "--strategy",
            "sma_cross",
            "--where",
            "params.fast = 10 and sharpe > 0",
            "--format",
            "json",
        ];
        args.extend(extra);
        page_ids(&ok(&db, &args))
    };
    let first = shown(&mut browser);
    assert_eq!(first, cli(&[]));
    assert_eq!(first.len(), 10, "the filter leaves more than a page");
    let url = browser.eval("location.search");
    assert!(
        url.as_str()
            .is_some_and(|u| u.contains("where=params.fast")),
        "{url}: the filter is in the URL"
    );

    browser.click_and_wait("a.next");
    let second = shown(&mut browser);
    assert_eq!(second, cli(&["--after", &first[9].to_string()]));
    assert!(!second.is_empty());
    browser.click_and_wait("a.previous");
    assert_eq!(shown(&mut browser), first, "back to the first page");

    // Pick two runs on the first page and one on the second: the basket rides in the URL
    // from page to page, and opens them side by side.
    browser.click_and_wait("table.runs tbody tr:nth-child(1) a.pick");
    browser.click_and_wait("table.runs tbody tr:nth-child(3) a.pick");
    assert_eq!(shown(&mut browser), first, "picking stays on the page");
    browser.click_and_wait("a.next");
    assert_eq!(shown(&mut browser), second);
    browser.click_and_wait("table.runs tbody tr:nth-child(2) a.pick");
    let picked = browser.eval("[...document.querySelectorAll('nav.basket span.picked a:first-child')].map(a => a.textContent)");
    assert_eq!(
        picked,
        serde_json::json!([first[0], first[2], second[1]].map(|id| format!("run {id}")))
    );
    browser.click_and_wait("nav.basket a.open");
    let columns = browser.eval("[...document.querySelectorAll('table.side thead tr:first-child th a')].map(a => Number(a.textContent))");
    assert_eq!(columns, serde_json::json!([first[0], first[2], second[1]]));
    // Dropping one from the side-by-side leaves the other two.
    browser.click_and_wait("table.side a.drop");
    let columns = browser.eval("[...document.querySelectorAll('table.side thead tr:first-child th a')].map(a => Number(a.textContent))");
    assert_eq!(columns, serde_json::json!([first[2], second[1]]));
    let rows = browser.eval("document.querySelectorAll('table.side tbody tr').length");
    browser.click("input[name=diff]");
    browser.click_and_wait("form.filters button");
    let fewer = browser.eval("document.querySelectorAll('table.side tbody tr').length");
    assert!(
        fewer.as_i64() < rows.as_i64(),
        "differences only shows fewer rows: {fewer} of {rows}"
    );
    let same = browser.eval("[...document.querySelectorAll('table.side tbody tr td:first-child')].some(td => td.textContent === 'fast')");
    assert_eq!(same, false, "both runs have fast = 10: not a difference");
    assert!(browser.problems().is_empty(), "{:#?}", browser.problems());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_column_header_sorts_and_three_pages_hold_each_run_once() {
    let Some(mut browser) = browser() else { return };
    let db = demo().await;
    let server = Server::start(db.url(), &[]);
    browser.open(&format!("{}/runs?limit=10&strategy=sma_cross", server.base));
    browser.click_and_wait("table.runs th a.sort[title^='sort by sharpe']");
    let mut paged: Vec<i64> = Vec::new();
    for page in 0..3 {
        let ids = browser.eval(
            "[...document.querySelectorAll('table.runs tbody td.num a')].map(a => Number(a.textContent))",
        );
        let ids: Vec<i64> = serde_json::from_value(ids).expect("ids");
        assert_eq!(ids.len(), 10, "page {page}");
        paged.extend(ids);
        if page < 2 {
            browser.click_and_wait("a.next");
        }
    }
    let cli = page_ids(&ok(
        &db,
        &[
            "runs",
            "--strategy",
            "sma_cross",
            "--sort",
            "sharpe",
            "--limit",
            "30",
            "--format",
            "json",
        ],
    ));
    assert_eq!(paged, cli, "the CLI's order, each run once");
    let sorted = browser.eval("document.querySelector('th[aria-sort] a').textContent");
    assert_eq!(sorted, "sharpe ▼");
    // The header again turns the order round.
    browser.click_and_wait("th[aria-sort] a");
    let url = browser.eval("location.search");
    assert!(
        url.as_str().is_some_and(|u| u.contains("asc=true")),
        "{url}"
    );
    assert!(browser.problems().is_empty(), "{:#?}", browser.problems());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_where_shows_its_error_above_the_form_still_filled_in() {
    let Some(mut browser) = browser() else { return };
    let db = demo().await;
    let server = Server::start(db.url(), &[]);
    browser.open(&format!("{}/runs?limit=10", server.base));
    browser.type_into("input[name=strategy]", "sma_cross");
    browser.type_into("input[name=where]", "sharpe > and fast = 1");
    browser.click_and_wait("form.filters button");
    let error = browser.eval("document.querySelector('p.error').textContent");
    assert!(
        error
            .as_str()
            .is_some_and(|e| e.contains("“where” at column 10")),
        "{error}"
    );
    let kept = browser.eval(
        "[document.querySelector('input[name=strategy]').value, document.querySelector('input[name=where]').value, document.querySelector('input[name=limit]').value]",
    );
    assert_eq!(
        kept,
        serde_json::json!(["sma_cross", "sharpe > and fast = 1", "10"])
    );
    // The one console line is the page's own 400.
    let problems = browser.problems();
    assert!(problems.iter().all(|p| p.contains("400")), "{problems:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_strategy_named_like_an_attack_opens_no_dialog() {
    let Some(mut browser) = browser() else { return };
    let db = TestDb::new().await;
    record_hostile(&db);
    let name = HOSTILE;
    let server = Server::start(db.url(), &[]);
    browser.open(&format!("{}/", server.base));
    let link = browser.eval("document.querySelector('a[href^=\"/strategies/\"]').textContent");
    assert_eq!(link, name, "the name shows as text");
    browser.click_and_wait("a[href^=\"/strategies/\"]");
    let heading = browser.eval("document.querySelector('h1').textContent");
    assert_eq!(heading, name);
    for page in ["/runs", "/runs/1", "/side-by-side?id=1&id=2"] {
        browser.open(&format!("{}{page}", server.base));
    }
    let images = browser.eval("document.querySelectorAll('img, script').length");
    assert_eq!(images, 0);
    assert!(browser.problems().is_empty(), "{:#?}", browser.problems());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_heatmap_cell_leads_to_exactly_its_runs() {
    let Some(mut browser) = browser() else { return };
    let db = demo().await;
    let server = Server::start(db.url(), &[]);
    browser.open(&format!("{}/strategies/sma_cross", server.base));
    let dataset = browser.eval("document.querySelector('select[name=dataset]').value");
    let dataset = dataset.as_str().expect("a data set chosen").to_owned();
    assert!(!dataset.is_empty(), "the page opens on one data set");
    let cell = ".chart a:nth-of-type(7) rect.cell";
    let tip = browser.eval(&format!(
        "document.querySelector('{cell} title').textContent"
    ));
    // "fast = F, slow = S: mean sharpe …"
    let tip = tip.as_str().expect("a tip").to_owned();
    let value = |name: &str| -> i64 {
        let rest = &tip[tip.find(&format!("{name} = ")).expect(name) + name.len() + 3..];
        let end = rest.find([',', ':']).expect("end");
        rest[..end].parse().expect("a number")
    };
    let (fast, slow) = (value("fast"), value("slow"));
    browser.click_and_wait(cell);
    let shown = browser.eval(
        "[...document.querySelectorAll('table.runs tbody td.num a')].map(a => Number(a.textContent))",
    );
    let mut shown: Vec<i64> = serde_json::from_value(shown).expect("ids");
    // The cell's runs, picked out of every run of the data set by the test itself.
    let all: serde_json::Value = serde_json::from_str(&ok(
        &db,
        &[
            "runs",
            "--strategy",
            "sma_cross",
            "--dataset",
            &dataset,
            "--limit",
            "1000",
            "--format",
            "json",
        ],
    ))
    .expect("json");
    let mut wanted: Vec<i64> = all["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .filter(|r| r["params"]["fast"] == fast && r["params"]["slow"] == slow)
        .filter(|r| r["status"] == "completed")
        .map(|r| r["id"].as_i64().expect("id"))
        .collect();
    assert!(!wanted.is_empty());
    shown.sort();
    wanted.sort();
    assert_eq!(shown, wanted, "fast = {fast}, slow = {slow} on {dataset}");
    assert!(browser.problems().is_empty(), "{:#?}", browser.problems());
}

#[tokio::test(flavor = "multi_thread")]
async fn logging_in_and_out_by_clicks_ends_the_session() {
    let Some(mut browser) = browser() else { return };
    let db = TestDb::new().await;
    record_hostile(&db);
    let token = "a-token-for-the-browser-test-42";
    let server = Server::start(db.url(), &["--token", token]);
    // A page asked for leads to the login form, and the form back to the page.
    browser.open(&format!("{}/runs", server.base));
    let here = |b: &mut Browser| {
        b.eval("location.pathname")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(here(&mut browser), "/login");
    browser.type_into("input[name=token]", token);
    browser.click_and_wait("form.filters button");
    assert_eq!(here(&mut browser), "/runs");
    assert_eq!(
        browser.eval("document.querySelectorAll('table tbody tr').length"),
        4
    );
    // Log out: the login form again, and the runs no longer open.
    browser.click_and_wait("form.logout button");
    assert_eq!(here(&mut browser), "/login");
    browser.open(&format!("{}/runs", server.base));
    assert_eq!(here(&mut browser), "/login");
    assert!(browser.problems().is_empty(), "{:?}", browser.problems());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sweep_s_parallel_coordinates_draw_a_line_per_run_that_leads_to_it() {
    let Some(mut browser) = browser() else { return };
    let db = demo().await;
    let server = Server::start(db.url(), &[]);
    browser.open(&format!("{}/sweeps/demo?metric=sharpe", server.base));
    let runs = browser.eval("document.querySelectorAll('.chart polyline.run').length");
    let listed: serde_json::Value = serde_json::from_str(&ok(
        &db,
        &[
            "runs",
            "--sweep",
            "demo",
            "--where",
            "sharpe > -1000",
            "--limit",
            "1",
            "--format",
            "json",
        ],
    ))
    .expect("JSON");
    let with_sharpe = listed["count"]["runs"].clone();
    assert_eq!(runs, with_sharpe, "one line per run");
    let png = browser.screenshot(".chart");
    let (inked, colours) = browser::ink(&png);
    assert!(
        inked > 0.05 && colours > 10,
        "drawn ({inked:.3} inked, {colours} colours)"
    );
    let href = browser
        .eval("document.querySelector('.chart polyline.run').parentNode.getAttribute('href')");
    browser.follow(".chart polyline.run");
    let at = browser.eval("location.pathname");
    assert_eq!(at, href, "the line led to its run");
    let heading = browser.eval("document.querySelector('h1').textContent");
    assert!(
        heading.as_str().is_some_and(|h| h.starts_with("Run ")),
        "{heading}"
    );
    assert!(browser.problems().is_empty(), "{:#?}", browser.problems());
}
