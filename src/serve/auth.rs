//! The token rule: a server that others can reach answers only requests carrying its token,
//! as `Authorization: Bearer TOKEN` (scripts) or as the cookie the login form sets (browsers),
//! so the token never sits in a URL that gets shared.

use axum::Form;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{App, api, pages};

const COOKIE: &str = "btdb_session";

/// The server's token, kept as digests: compared in constant time, never printed.
#[derive(Clone)]
pub struct Token {
    digest: [u8; 32],
    /// What the login cookie holds: derived from the token, so the cookie is not the token.
    cookie: String,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

impl Token {
    pub fn new(token: &str) -> Self {
        let cookie = sha256(&[b"btdb serve session\0", token.as_bytes()])
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Self {
            digest: sha256(&[token.as_bytes()]),
            cookie,
        }
    }

    /// Whether `given` is the token. Digests of equal length are compared, so the time taken
    /// says nothing of the token, not even its length.
    pub fn matches(&self, given: &str) -> bool {
        sha256(&[given.as_bytes()]).ct_eq(&self.digest).into()
    }

    fn cookie_matches(&self, given: &str) -> bool {
        sha256(&[given.as_bytes()])
            .ct_eq(&sha256(&[self.cookie.as_bytes()]))
            .into()
    }

    fn allows(&self, headers: &HeaderMap) -> bool {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if bearer.is_some_and(|t| self.matches(t.trim())) {
            return true;
        }
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().strip_prefix(COOKIE)?.strip_prefix('='))
            .any(|c| self.cookie_matches(c))
    }
}

/// Lets a request through when the server has no token or the request carries it; otherwise
/// sends scripts a 401 and browsers to the login form.
pub async fn check(State(app): State<App>, request: Request, next: Next) -> Response {
    let Some(token) = &app.token else {
        return next.run(request).await;
    };
    let path = request.uri().path();
    if path == "/login" || path.starts_with("/static/") || token.allows(request.headers()) {
        return next.run(request).await;
    }
    if path.starts_with("/api/") {
        let mut response = api::error(
            StatusCode::UNAUTHORIZED,
            "this server needs its token: send `Authorization: Bearer TOKEN`",
        );
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, "Bearer".parse().expect("valid"));
        return response;
    }
    let next_page = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("next", &next_page)
        .finish();
    Redirect::to(&format!("/login?{query}")).into_response()
}

#[derive(Debug, Deserialize)]
pub struct NextPage {
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Login {
    token: String,
    next: Option<String>,
}

/// Where to go after logging in: a path on this server only.
fn local(next: Option<&str>) -> &str {
    match next {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.starts_with("/\\") => p,
        _ => "/",
    }
}

/// The login form: the one form that is a POST, so the token stays out of URLs and history.
pub async fn form(Query(query): Query<NextPage>) -> Response {
    login_page(StatusCode::OK, local(query.next.as_deref()), None)
}

fn login_page(status: StatusCode, next: &str, problem: Option<&str>) -> Response {
    let body = html! {
        h1 { "Log in" }
        @if let Some(problem) = problem { p.error { (problem) } }
        p.note { "This btdb server needs the token it was started with (--token or BTDB_SERVE_TOKEN)." }
        form.filters method="post" action="/login" {
            input type="hidden" name="next" value=(next);
            label { "Token" input type="password" name="token" autocomplete="current-password" autofocus; }
            button type="submit" { "Log in" }
        }
    };
    (status, pages::layout("Log in", body)).into_response()
}

/// Checks the token and sets the session cookie.
pub async fn login(
    State(app): State<App>,
    headers: HeaderMap,
    Form(login): Form<Login>,
) -> Response {
    let next = local(login.next.as_deref()).to_owned();
    let Some(token) = &app.token else {
        return Redirect::to(&next).into_response();
    };
    if !token.matches(&login.token) {
        tracing::warn!("a login with a wrong token");
        return login_page(
            StatusCode::UNAUTHORIZED,
            &next,
            Some("That is not this server's token."),
        );
    }
    // Behind a proxy that terminates TLS, the cookie is kept to HTTPS.
    let secure = headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict{}",
        token.cookie,
        if secure { "; Secure" } else { "" }
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_token_matches() {
        let token = Token::new("correct horse battery staple");
        assert!(token.matches("correct horse battery staple"));
        assert!(!token.matches("correct horse battery stapl"));
        assert!(!token.matches(""));
        assert!(!token.cookie_matches("correct horse battery staple"));
        assert!(token.cookie_matches(&token.cookie.clone()));
    }

    #[test]
    fn login_goes_nowhere_but_this_server() {
        assert_eq!(local(Some("/runs?limit=5")), "/runs?limit=5");
        assert_eq!(local(Some("//evil.example/")), "/");
        assert_eq!(local(Some("https://evil.example/")), "/");
        assert_eq!(local(Some("/\\evil.example")), "/");
        assert_eq!(local(None), "/");
    }
}
