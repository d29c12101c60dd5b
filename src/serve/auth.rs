//! The token rule: a server that others can reach answers only requests carrying its token,
//! as `Authorization: Bearer TOKEN` (scripts) or as the session cookie the login form sets
//! (browsers), so the token never sits in a URL that gets shared. A session is a random id
//! that expires (`--session-hours`) and ends at logout; the server keeps only digests of the
//! ids it handed out, in memory, so a restart ends every session. Wrong tokens are counted per
//! client address, and a client that keeps guessing is refused for a while.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Form;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{App, api, pages};

const COOKIE: &str = "btdb_session";

/// Wrong tokens a client address may send within `GUESS_WINDOW` before it is refused.
const GUESSES: usize = 10;
const GUESS_WINDOW: Duration = Duration::from_secs(300);
/// Client addresses whose wrong tokens are remembered at once: past this, the oldest go.
const GUESSERS: usize = 10_000;

/// The server's token, kept as a digest, and the sessions of those who logged in with it:
/// compared in constant time, never printed.
#[derive(Clone)]
pub struct Token {
    digest: [u8; 32],
    sessions: Arc<Mutex<HashMap<[u8; 32], Instant>>>,
    /// When each client address sent its recent wrong tokens.
    guesses: Arc<Mutex<HashMap<IpAddr, Vec<Instant>>>>,
    session_life: Duration,
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
    pub fn new(token: &str, session_life: Duration) -> Self {
        Self {
            digest: sha256(&[token.as_bytes()]),
            sessions: Arc::default(),
            guesses: Arc::default(),
            session_life,
        }
    }

    /// Whether `given` is the token. Digests of equal length are compared, so the time taken
    /// says nothing of the token, not even its length.
    pub fn matches(&self, given: &str) -> bool {
        sha256(&[given.as_bytes()]).ct_eq(&self.digest).into()
    }

    /// A new session: its id, for the cookie. Expired sessions are forgotten here.
    fn open_session(&self) -> String {
        let mut id = [0u8; 32];
        getrandom::fill(&mut id).expect("the operating system's random numbers");
        let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
        let now = Instant::now();
        let mut sessions = self.sessions.lock().expect("sessions");
        sessions.retain(|_, until| *until > now);
        sessions.insert(sha256(&[id.as_bytes()]), now + self.session_life);
        id
    }

    /// Whether `id` is a session that has not expired. The map is keyed by the id's digest,
    /// so a lookup reveals nothing of the ids by its timing.
    fn session_is_live(&self, id: &str) -> bool {
        let sessions = self.sessions.lock().expect("sessions");
        sessions
            .get(&sha256(&[id.as_bytes()]))
            .is_some_and(|until| *until > Instant::now())
    }

    fn close_session(&self, id: &str) {
        self.sessions
            .lock()
            .expect("sessions")
            .remove(&sha256(&[id.as_bytes()]));
    }

    /// How long `client` must wait before trying a token again, if it sent too many wrong
    /// ones lately.
    fn refused_for(&self, client: IpAddr) -> Option<Duration> {
        let now = Instant::now();
        let mut guesses = self.guesses.lock().expect("guesses");
        let recent = guesses.get_mut(&client)?;
        recent.retain(|at| now.duration_since(*at) < GUESS_WINDOW);
        if recent.len() < GUESSES {
            return None;
        }
        let oldest = recent.iter().min().copied()?;
        Some(GUESS_WINDOW.saturating_sub(now.duration_since(oldest)))
    }

    fn count_guess(&self, client: IpAddr) {
        let now = Instant::now();
        let mut guesses = self.guesses.lock().expect("guesses");
        if guesses.len() >= GUESSERS && !guesses.contains_key(&client) {
            guesses.retain(|_, at| at.iter().any(|t| now.duration_since(*t) < GUESS_WINDOW));
            if guesses.len() >= GUESSERS {
                guesses.clear();
            }
        }
        guesses.entry(client).or_default().push(now);
    }

    fn allows(&self, headers: &HeaderMap) -> bool {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if bearer.is_some_and(|t| self.matches(t.trim())) {
            return true;
        }
        session_ids(headers).any(|id| self.session_is_live(id))
    }
}

/// The session ids a request's cookies carry.
fn session_ids(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

/// The address a request came from; requests handed to the router without one (in-process)
/// share one.
fn client(request_address: Option<&ConnectInfo<SocketAddr>>) -> IpAddr {
    request_address.map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip())
}

/// Lets a request through when the server has no token or the request carries it; otherwise
/// sends scripts a 401 and browsers to the login form.
pub async fn check(State(app): State<App>, request: Request, next: Next) -> Response {
    let Some(token) = &app.token else {
        return next.run(request).await;
    };
    let path = request.uri().path();
    if path == "/login"
        || path == "/logout"
        || path.starts_with("/static/")
        || token.allows(request.headers())
    {
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
pub fn local(next: Option<&str>) -> &str {
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
    (
        status,
        pages::layout(&pages::Head::plain("Log in"), body, false),
    )
        .into_response()
}

/// Checks the token and opens a session. A client that sent too many wrong tokens lately is
/// refused before its token is looked at.
pub async fn login(
    State(app): State<App>,
    address: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Form(login): Form<Login>,
) -> Response {
    let next = local(login.next.as_deref()).to_owned();
    let Some(token) = &app.token else {
        return Redirect::to(&next).into_response();
    };
    let client = client(address.as_ref().map(|a| &a.0));
    if let Some(wait) = token.refused_for(client) {
        tracing::warn!("{client}: a login refused after {GUESSES} wrong tokens");
        let seconds = wait.as_secs().max(1);
        let mut page = login_page(
            StatusCode::TOO_MANY_REQUESTS,
            &next,
            Some(&format!(
                "Too many wrong tokens from your address: try again in {seconds} seconds."
            )),
        );
        page.headers_mut().insert(
            header::RETRY_AFTER,
            seconds.to_string().parse().expect("digits"),
        );
        return page;
    }
    if !token.matches(&login.token) {
        token.count_guess(client);
        tracing::warn!("{client}: a login with a wrong token");
        return login_page(
            StatusCode::UNAUTHORIZED,
            &next,
            Some("That is not this server's token."),
        );
    }
    let cookie = session_cookie(&headers, &token.open_session(), token.session_life);
    ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
}

/// Ends the request's session and sends the browser to the login form.
pub async fn logout(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Some(token) = &app.token {
        for id in session_ids(&headers) {
            token.close_session(id);
        }
    }
    let cookie = session_cookie(&headers, "", Duration::ZERO);
    ([(header::SET_COOKIE, cookie)], Redirect::to("/login")).into_response()
}

/// The cookie that carries session `id` for `life` (an empty id and no life clear it). Behind
/// a proxy that terminates TLS, the cookie is kept to HTTPS.
fn session_cookie(headers: &HeaderMap, id: &str, life: Duration) -> String {
    let secure = headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    format!(
        "{COOKIE}={id}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{}",
        life.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_token_matches_and_a_session_is_no_token() {
        let token = Token::new("correct horse battery staple", Duration::from_secs(60));
        assert!(token.matches("correct horse battery staple"));
        assert!(!token.matches("correct horse battery stapl"));
        assert!(!token.matches(""));
        assert!(!token.session_is_live("correct horse battery staple"));
        let id = token.open_session();
        assert!(token.session_is_live(&id));
        assert!(!token.matches(&id));
        token.close_session(&id);
        assert!(!token.session_is_live(&id));
    }

    #[test]
    fn a_session_expires() {
        let token = Token::new("correct horse battery staple", Duration::ZERO);
        let id = token.open_session();
        assert!(!token.session_is_live(&id));
    }

    #[test]
    fn a_client_that_keeps_guessing_is_refused_and_others_are_not() {
        let token = Token::new("correct horse battery staple", Duration::from_secs(60));
        let (guesser, other) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        for _ in 0..GUESSES - 1 {
            token.count_guess(guesser);
        }
        assert_eq!(token.refused_for(guesser), None);
        token.count_guess(guesser);
        let wait = token.refused_for(guesser).expect("refused");
        assert!(wait <= GUESS_WINDOW && wait > GUESS_WINDOW - Duration::from_secs(5));
        assert_eq!(token.refused_for(other), None);
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
