//! The HTML pages. maud escapes every value it writes, so names from the database show as the
//! text they are; names that may hold right-to-left overrides sit in `<bdi>`, so they cannot
//! reorder the text around them.

pub mod basket;
pub mod note;
pub mod rank;
pub mod run;
pub mod runs;
pub mod side_by_side;
pub mod strategy;
pub mod sweep;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::{App, failure};
use crate::models::RunId;
use crate::report::readable;

/// What a page's frame shows: its title, and the compare basket its navigation carries on.
#[derive(Debug, Clone, Default)]
pub struct Head {
    pub title: String,
    pub basket: basket::Basket,
}

impl Head {
    pub fn new(title: impl Into<String>, basket: basket::Basket) -> Self {
        Self {
            title: title.into(),
            basket,
        }
    }

    /// A page that carries no basket.
    pub fn plain(title: impl Into<String>) -> Self {
        Self::new(title, basket::Basket::default())
    }

    /// A page whose query carries the basket (`pick`), which its navigation carries on.
    pub fn carrying(title: impl Into<String>, query: Option<&str>) -> Self {
        Self::new(title, basket::Basket::peek(query, basket::PICK))
    }

    /// `path` with the basket.
    fn href(&self, path: &str) -> String {
        match self.basket.ids().is_empty() {
            true => path.to_owned(),
            false => format!(
                "{path}?{}",
                self.basket.query(&super::params::Params::parse(None))
            ),
        }
    }
}

/// A whole page around `content`.
pub fn layout(head: &Head, content: Markup, signed_in: bool) -> Markup {
    let title = &head.title;
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · btdb" }
                link rel="icon" href="data:,";
                link rel="stylesheet" href="/static/style.css";
            }
            body {
                header {
                    a.brand href=(head.href("/")) { "btdb" }
                    a href=(head.href("/")) { "Strategies" }
                    a href=(head.href("/runs")) { "Runs" }
                    @if signed_in {
                        form.logout method="post" action="/logout" { button type="submit" { "Log out" } }
                    }
                }
                main { (content) }
            }
        }
    }
}

/// Runs `work` on a worker thread and renders the page it makes, titled `title`.
pub async fn on_worker<F, Fut>(app: App, head: Head, work: F) -> Response
where
    F: FnOnce(App) -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<Markup>> + 'static,
{
    on_worker_with_status(app, head, move |app| async move {
        Ok((StatusCode::OK, work(app).await?))
    })
    .await
}

/// `on_worker` for a page that answers with a status of its own: a form shown again with
/// what was wrong in it.
pub async fn on_worker_with_status<F, Fut>(app: App, head: Head, work: F) -> Response
where
    F: FnOnce(App) -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<(StatusCode, Markup)>> + 'static,
{
    let signed_in = app.token.is_some();
    app.clone()
        .local(move || async move { render(&head, work(app).await, signed_in) })
        .await
}

/// A page, or the error's page with its status (400 for what was asked, 503 for the
/// database).
fn render(head: &Head, content: anyhow::Result<(StatusCode, Markup)>, signed_in: bool) -> Response {
    match content {
        Ok((status, content)) => html_response(status, layout(head, content, signed_in)),
        Err(e) => {
            let (status, message) = failure(&e);
            let message = page_terms(&message);
            error(status, &message)
        }
    }
}

/// The error page: the CLI's one line, and the way back.
pub fn error(status: StatusCode, message: &str) -> Response {
    let content = html! {
        h1 { (status.canonical_reason().unwrap_or("Error")) }
        p.error { (message) }
        p { a href="/" { "Strategies" } " · " a href="/runs" { "Runs" } }
    };
    html_response(status, layout(&Head::plain("Error"), content, false))
}

fn html_response(status: StatusCode, page: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page.into_string(),
    )
        .into_response()
}

/// What a path segment escapes: all but the unreserved characters of RFC 3986.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A strategy's name as a link to its page.
pub fn strategy_link(name: &str, basket: &basket::Basket) -> Markup {
    html! { a href=(basket.strategy_href(name)) { bdi { (name) } } }
}

/// `text` as one segment of a path.
pub fn segment(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

/// A run's id as a link to its page.
pub fn run_link(id: RunId) -> Markup {
    html! { a href={ "/runs/" (id) } { (id) } }
}

/// A metric value, `–` when missing.
pub fn value(v: Option<f64>) -> Markup {
    html! { td.num { (v.map_or_else(|| "–".to_owned(), |v| readable::significant(v, 4))) } }
}

/// A value of metric `name` in a cell, as its unit reads (percent, ratio, amount, count).
pub fn metric_value(name: &str, v: Option<f64>) -> Markup {
    html! { td.num { (v.map_or_else(|| "–".to_owned(), |v| readable::metric(name, v))) } }
}

/// A time as a person reads it: the date alone at midnight UTC (daily data), else to the
/// second; JSON and CSV keep RFC 3339.
pub fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::Timelike;
    if t.num_seconds_from_midnight() == 0 && t.nanosecond() == 0 {
        t.format("%Y-%m-%d").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    }
}

/// A run's parameters as compact `name=value` text.
pub fn params(params: &serde_json::Value) -> Markup {
    let text = match params.as_object() {
        Some(o) => o
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" "),
        None => params.to_string(),
    };
    html! { span.params { bdi { (text) } } }
}

/// An SVG chart from the plotting code, inline. Its text was escaped when it was drawn.
pub fn chart(svg: &str) -> Markup {
    html! { div.chart { (PreEscaped(svg)) } }
}

/// A `<select>` of `options` with `selected` chosen, and an empty choice first when `blank`.
pub fn select(name: &str, options: &[String], selected: Option<&str>, blank: bool) -> Markup {
    html! {
        select name=(name) {
            @if blank { option value="" { "–" } }
            @for o in options {
                option value=(o) selected[Some(o.as_str()) == selected] { (o) }
            }
        }
    }
}

/// The `<datalist>` an input names with `list=id`: the known values, offered as it is typed in.
pub fn datalist(id: &str, options: &[String]) -> Markup {
    html! { datalist id=(id) { @for o in options { option value=(o) {} } } }
}

/// How a page's form labels its fields, where the label is not the field's name.
const LABELS: &[(&str, &str)] = &[
    ("dataset", "data set"),
    ("strategy-version", "version"),
    ("sort", "sort by"),
    ("asc", "smallest first"),
    ("metrics", "columns"),
    ("limit", "per page"),
    ("min-runs", "min runs"),
    ("is", "in sample"),
    ("oos", "out of sample"),
];

/// An error as a page says it: the CLI's flags (`--sort`, `'--limit <LIMIT>'`) named as the
/// page's fields are (“sort by”, “per page”). The API keeps the CLI's words.
pub fn page_terms(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("--") {
        let (before, flag) = rest.split_at(at);
        let starts_word = before
            .chars()
            .last()
            .is_none_or(|c| c.is_whitespace() || "('`\"".contains(c));
        let name_len = flag[2..]
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
            .unwrap_or(flag.len() - 2);
        let name = &flag[2..2 + name_len];
        if !starts_word || name.is_empty() {
            out.push_str(before);
            out.push_str("--");
            rest = &flag[2..];
            continue;
        }
        let label = LABELS
            .iter()
            .find(|(field, _)| *field == name)
            .map_or(name, |(_, label)| label);
        let mut after = &flag[2 + name_len..];
        // clap's `'--limit <LIMIT>'`: the quotes and the value's placeholder go too.
        let mut before = before;
        if let Some(quoted) = before.strip_suffix('\'') {
            let placeholder = after
                .strip_prefix(" <")
                .and_then(|a| a.find(">'").map(|i| &a[i + 2..]));
            // clap's `'--limit <LIMIT>'` and `'--pbo'`.
            if let Some(rest) = placeholder.or_else(|| after.strip_prefix('\'')) {
                before = quoted;
                after = rest;
            }
        }
        out.push_str(before);
        out.push('“');
        out.push_str(label);
        out.push('”');
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::page_terms;

    #[test]
    fn errors_name_the_page_s_fields_not_the_cli_s_flags() {
        assert_eq!(
            page_terms("invalid value '0' for '--limit <LIMIT>': `0` is not a number of runs"),
            "invalid value '0' for “per page”: `0` is not a number of runs"
        );
        assert_eq!(
            page_terms("--sort: no completed run has metric `nope`; known: `cagr`"),
            "“sort by”: no completed run has metric `nope`; known: `cagr`"
        );
        assert_eq!(
            page_terms("the argument '--pbo' cannot be used with '--x <X>'"),
            "the argument “pbo” cannot be used with “x”"
        );
        assert_eq!(
            page_terms("drop --status failed or sort by `recorded`"),
            "drop “status” failed or sort by `recorded`"
        );
        // Not a flag: a dash inside a word or a value, and text without any.
        assert_eq!(page_terms("a-b--c and 2--3"), "a-b--c and 2--3");
        assert_eq!(page_terms("no run with id 9"), "no run with id 9");
    }
}
