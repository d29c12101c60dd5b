//! The names a request may call this server by. A page on any site can make a browser send
//! requests to a name its owner points at 127.0.0.1 (DNS rebinding), and read the answers as
//! its own: such a request carries the foreign name in its `Host` header, so a server that
//! answers only its own names cannot be read that way, on loopback or anywhere.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use super::App;

/// This server's names: its address, `localhost` and every loopback address when it listens on
/// loopback, any address literal when it listens on all of them, and the names given with
/// `--allow-host`; each with the port it listens on.
#[derive(Debug, Clone)]
pub struct Hosts {
    address: SocketAddr,
    names: Vec<String>,
}

impl Hosts {
    pub fn new(address: SocketAddr, names: &[String]) -> Self {
        Self {
            address,
            names: names.iter().map(|n| n.to_ascii_lowercase()).collect(),
        }
    }

    /// Whether `host` (a `Host` header: a name or address, and a port unless it is 80) names
    /// this server.
    pub fn allows(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        let (name, port) = match host.rsplit_once(':') {
            // `[::1]:8080`, `127.0.0.1:8080`, `name:8080`; a bare IPv6 address has no port.
            Some((name, port))
                if !name.ends_with(':') && (host.starts_with('[') == name.ends_with(']')) =>
            {
                (name, port.parse::<u16>().ok())
            }
            _ => (host.as_str(), Some(80)),
        };
        if port != Some(self.address.port()) {
            return false;
        }
        let bound = self.address.ip();
        match name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            Ok(ip) => {
                ip == bound || bound.is_unspecified() || (bound.is_loopback() && ip.is_loopback())
            }
            Err(_) => {
                (name == "localhost" && bound.is_loopback()) || self.names.iter().any(|n| n == name)
            }
        }
    }
}

/// Refuses a request that names another host, saying how to reach this one.
pub async fn check(State(app): State<App>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| request.uri().authority().map(|a| a.to_string()));
    match host {
        Some(host) if app.hosts.allows(&host) => next.run(request).await,
        Some(host) => super::refusal(
            &request,
            StatusCode::MISDIRECTED_REQUEST,
            &format!(
                "this server is not `{host}`: open http://{}/, or start btdb serve with \
                 --allow-host and the name you use",
                app.hosts.address
            ),
        ),
        None => super::refusal(
            &request,
            StatusCode::BAD_REQUEST,
            "the request names no host (a Host header)",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(bound: &str, names: &[&str]) -> Hosts {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        Hosts::new(bound.parse().expect("an address"), &names)
    }

    #[test]
    fn loopback_answers_its_addresses_and_localhost_on_its_port_only() {
        let h = hosts("127.0.0.1:8080", &[]);
        for ok in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST:8080",
            "[::1]:8080",
            "127.0.0.2:8080",
        ] {
            assert!(h.allows(ok), "{ok}");
        }
        for refused in [
            "attacker.example:8080",
            "127.0.0.1:8081",
            "localhost",
            "127.0.0.1",
            "10.0.0.1:8080",
            "localhost.attacker.example:8080",
            "",
        ] {
            assert!(!h.allows(refused), "{refused}");
        }
    }

    #[test]
    fn other_addresses_answer_literals_and_the_names_given() {
        let all = hosts("0.0.0.0:80", &["btdb.Example.internal"]);
        assert!(all.allows("10.1.2.3"));
        assert!(all.allows("10.1.2.3:80"));
        assert!(all.allows("btdb.example.internal"));
        assert!(!all.allows("btdb.example.internal:8080"));
        assert!(!all.allows("rebound.attacker.example"));
        let one = hosts("10.0.0.5:9000", &[]);
        assert!(one.allows("10.0.0.5:9000"));
        assert!(!one.allows("10.0.0.6:9000"));
        assert!(!one.allows("localhost:9000"));
        let six = hosts("[::1]:7000", &[]);
        assert!(six.allows("[::1]:7000"));
        assert!(six.allows("localhost:7000"));
        assert!(!six.allows("[::1]"));
    }
}
