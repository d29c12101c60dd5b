//! `btdb serve` as a process of its own, and a plain HTTP/1.1 client to talk to it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The strategy name of [`record_hostile`]'s runs.
pub const HOSTILE: &str = "<img src=x onerror=alert(1)>";

/// Records four runs of a strategy named like an XSS payload, whose parameter names, data set
/// and tag are markup, quotes or text-direction overrides, with an equity curve each.
pub fn record_hostile(db: &super::TestDb) {
    let docs: Vec<String> = (0..4)
        .map(|i| {
            serde_json::json!({
                "run_key": format!("hostile:{i}"),
                "strategy": HOSTILE,
                "params": {"<b>x</b>": i % 2, "<svg onload=alert(2)>\"'\u{202e}": i / 2},
                "dataset": "<script>alert(3)</script>\u{202e}",
                "tags": ["\u{202e}evil"],
                "metrics": {"sharpe": 1.0 + f64::from(i)},
                "equity": [["2024-01-01T00:00:00Z", 100], ["2024-01-02T00:00:00Z", 101 + i]],
                "trades": [
                    {"symbol": "<i>A</i>\u{202e}", "side": "long", "quantity": "1",
                     "entry_time": "2024-01-01T00:00:00Z", "entry_price": "10",
                     "exit_time": "2024-01-02T00:00:00Z", "exit_price": "11",
                     "exit_reason": "<script>alert(4)</script>", "entry_tag": "\u{202e}tag"},
                    {"symbol": "B", "side": "long", "quantity": "1",
                     "entry_time": "2024-01-01T00:00:00Z", "entry_price": "10",
                     "exit_time": "2024-01-02T00:00:00Z", "exit_price": "9"},
                ],
            })
            .to_string()
        })
        .collect();
    let out = super::cli::btdb(db, &["record", "-"], Some(&docs.join("\n")));
    assert!(out.status.success(), "{}", super::cli::text(&out.stderr));
}

/// A running `btdb serve`, stopped with SIGTERM when dropped.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub address: String,
}

impl Server {
    /// `btdb serve --bind 127.0.0.1:0 ARGS` on the database at `url`, once it listens.
    pub fn start(url: &str, args: &[&str]) -> Self {
        Self::try_start(url, args).unwrap_or_else(|e| panic!("btdb serve did not start: {e}"))
    }

    /// As `start`, or the error line of a server that refused to start.
    pub fn try_start(url: &str, args: &[&str]) -> Result<Self, String> {
        let mut all = vec!["serve"];
        if !args.contains(&"--bind") {
            all.extend(["--bind", "127.0.0.1:0"]);
        }
        all.extend(args);
        let mut child = Command::new(env!("CARGO_BIN_EXE_btdb"))
            .args(&all)
            .env("DATABASE_URL", url)
            .env_remove("RUST_LOG")
            .env_remove("BTDB_SERVE_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running btdb serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("reading btdb serve's first line");
        let Some(base) = line.trim().strip_prefix("btdb serve: ") else {
            let out = child.wait_with_output().expect("exit");
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        };
        let base = base.trim_end_matches('/').to_owned();
        let address = base.trim_start_matches("http://").to_owned();
        Ok(Self {
            child,
            base,
            address,
        })
    }

    /// `GET path` with `headers`.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        request(&self.address, "GET", path, headers, None)
    }

    /// `GET path`, which must answer 200: its body.
    pub fn ok(&self, path: &str) -> String {
        let response = self.get(path, &[]);
        assert_eq!(response.status, 200, "GET {path}: {}", response.body);
        response.body
    }

    /// `GET path` as JSON, which must answer 200.
    pub fn json(&self, path: &str) -> serde_json::Value {
        serde_json::from_str(&self.ok(path)).unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// Polls `path` until its answer comes from the cache: the JSON of that answer.
    pub fn until_cached(&self, path: &str) -> serde_json::Value {
        let started = std::time::Instant::now();
        loop {
            let response = self.get(path, &[]);
            if response.header("x-btdb-cache") == Some("hit") {
                return serde_json::from_str(&response.body).expect("JSON");
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{path} never came from the cache"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's resident memory now, from /proc.
    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the server's /proc status");
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS");
        kib * 1024
    }

    /// Sends SIGTERM and waits for the exit: the exit status and everything on stderr.
    pub fn stop(mut self) -> (std::process::ExitStatus, String) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success(), "SIGTERM not sent");
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            e.read_to_string(&mut stderr).expect("stderr");
        }
        let status = self.child.wait().expect("exit");
        (status, stderr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What came back.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One request on a connection of its own (`Connection: close`), read to the end.
pub fn request(
    address: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &str)>,
) -> Response {
    let mut stream = TcpStream::connect(address).expect("connecting to btdb serve");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    // The address as Host, unless the caller names another.
    let host = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("host"))
        .map_or(address, |(_, value)| *value);
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (name, value) in headers
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("host"))
    {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some((content_type, body)) = body {
        head.push_str(&format!(
            "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("sending");
    if let Some((_, body)) = body {
        stream.write_all(body.as_bytes()).expect("sending the body");
    }
    // Read the head, then as much body as Content-Length says (or to the end without one):
    // some servers keep the connection open despite `Connection: close`.
    let mut raw = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        let n = match stream.read(&mut chunk) {
            // A signal (a child process of the test ending) cut the read short: read again.
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            read => read.expect("reading the answer"),
        };
        raw.extend_from_slice(&chunk[..n]);
        let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n");
        if let Some(end) = head_end {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if length.is_some_and(|len| raw.len() >= end + 4 + len) {
                break;
            }
        }
        if n == 0 {
            break;
        }
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}
