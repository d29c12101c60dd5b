//! Writing a note from a page: `POST /runs/{id}/note` and `POST /sweeps/{name}/note`, the one
//! change the web view makes. A form posted from another site is refused (its `Origin` names
//! another host), so that a page elsewhere cannot write notes through a browser that can reach
//! this server.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::models::RunId;
use crate::query::note;
use crate::serve::{App, auth, failure};

#[derive(Debug, Deserialize)]
pub struct Written {
    /// The note; empty removes it.
    #[serde(default)]
    note: String,
    /// The page to go back to.
    back: Option<String>,
}

pub async fn on_run(
    State(app): State<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<Written>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return super::error(StatusCode::NOT_FOUND, &format!("no run with id {id}"));
    };
    write(app, &headers, form, Subject::Run(RunId(id))).await
}

pub async fn on_sweep(
    State(app): State<App>,
    Path(name): Path<String>,
    headers: HeaderMap,
    Form(form): Form<Written>,
) -> Response {
    write(app, &headers, form, Subject::Sweep(name)).await
}

/// What a note is written on.
enum Subject {
    Run(RunId),
    Sweep(String),
}

/// Checks where the form came from and what it holds, writes the note on a worker, and goes
/// back to the page it was written on.
async fn write(app: App, headers: &HeaderMap, form: Written, subject: Subject) -> Response {
    if !same_origin(headers) {
        return super::error(
            StatusCode::FORBIDDEN,
            "a note is written from btdb's own pages, not from another site",
        );
    }
    let text = match note::checked(&form.note) {
        Ok(text) => text,
        Err(e) => return super::error(StatusCode::BAD_REQUEST, &failure(&e).1),
    };
    let fallback = match &subject {
        Subject::Run(id) => format!("/runs/{id}"),
        Subject::Sweep(_) => "/".to_owned(),
    };
    let back = auth::local(form.back.as_deref().or(Some(&fallback))).to_owned();
    app.clone()
        .local(move || async move {
            let written = async {
                let mut conn = app.db.reader().await?;
                match &subject {
                    Subject::Run(id) => note::on_run(&mut conn, *id, text.as_deref()).await,
                    Subject::Sweep(name) => note::on_sweep(&mut conn, name, text.as_deref()).await,
                }
            };
            match written.await {
                Ok(()) => {
                    app.cache.forget();
                    Redirect::to(&back).into_response()
                }
                Err(e) => {
                    let (status, message) = failure(&e);
                    super::error(status, &message)
                }
            }
        })
        .await
}

/// Whether the request comes from this server's own page: its `Origin` (which browsers send
/// with every form posted) names the host the request was sent to, or, without one, its
/// `Sec-Fetch-Site` does not say another site. A client that is no browser sends neither.
fn same_origin(headers: &HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match (text(header::ORIGIN.as_str()), text(header::HOST.as_str())) {
        (Some(origin), Some(host)) => {
            let named = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"));
            named == Some(host)
        }
        (Some(_), None) => false,
        (None, _) => !matches!(text("sec-fetch-site"), Some("cross-site" | "same-site")),
    }
}
