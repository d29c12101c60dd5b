//! Headless Chromium driven over the DevTools protocol: navigate, click at an element's
//! centre, type, read the page, take screenshots, and collect every console error, uncaught
//! exception and dialog along the way.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// An error of the socket's own timeout, or of a signal that cut a read or write short (a
/// child process of the test ending): the call is made again.
fn retried(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock
            | std::io::ErrorKind::TimedOut
            | std::io::ErrorKind::Interrupted
    )
}

/// A headless browser with one page open; killed when dropped.
#[derive(Debug)]
pub struct Browser {
    _child: Killed,
    _profile: super::Scratch,
    socket: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// Every event received, in order.
    pub events: Vec<Value>,
}

impl Browser {
    pub fn launch(executable: &std::path::Path) -> Self {
        let profile = super::scratch_dir("chromium-profile");
        let mut child = Command::new(executable)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--window-size=1400,1000",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting chromium");
        let stderr = child.stderr.take().expect("stderr");
        // Killed on drop from here on, so that a failure while connecting leaves no browser.
        let child = Killed(child);
        let mut lines = BufReader::new(stderr).lines();
        let browser_url = loop {
            let line = lines
                .next()
                .expect("chromium ended before listening")
                .expect("reading chromium's stderr");
            if let Some(url) = line.strip_prefix("DevTools listening on ") {
                break url.trim().to_owned();
            }
        };
        // Keep draining stderr so that chromium never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let address = browser_url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .expect("host:port")
            .to_owned();
        let targets = super::serve::request(&address, "GET", "/json/list", &[], None);
        let targets: Value = serde_json::from_str(&targets.body).expect("targets");
        let page = targets
            .as_array()
            .expect("a list")
            .iter()
            .find(|t| t["type"] == "page")
            .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            .expect("a page target")
            .to_owned();
        let (socket, _) = tungstenite::connect(page).expect("connecting to the page");
        if let MaybeTlsStream::Plain(stream) = socket.get_ref() {
            stream
                .set_read_timeout(Some(Duration::from_millis(200)))
                .expect("timeout");
        }
        let mut browser = Self {
            _child: child,
            _profile: profile,
            socket,
            next_id: 0,
            events: Vec::new(),
        };
        for domain in ["Page.enable", "Runtime.enable", "Log.enable"] {
            browser.call(domain, json!({}));
        }
        browser
    }

    /// The next message, if one comes within the read timeout.
    fn receive(&mut self) -> Option<Value> {
        match self.socket.read() {
            Ok(Message::Text(text)) => {
                let message: Value = serde_json::from_str(&text).expect("JSON from chromium");
                if message["method"] == "Page.javascriptDialogOpening" {
                    // Dismissed at once, or the page would wait for it forever.
                    let id = self.send("Page.handleJavaScriptDialog", json!({"accept": false}));
                    let _ = id;
                }
                Some(message)
            }
            Ok(_) => None,
            Err(tungstenite::Error::Io(e)) if retried(&e) => None,
            Err(e) => panic!("the DevTools connection failed: {e}"),
        }
    }

    fn send(&mut self, method: &str, params: Value) -> u64 {
        self.next_id += 1;
        let message = json!({"id": self.next_id, "method": method, "params": params});
        let mut sent = self.socket.send(Message::text(message.to_string()));
        // The message is queued once `send` got as far as flushing: only the flush is retried.
        while let Err(tungstenite::Error::Io(e)) = &sent
            && retried(e)
        {
            sent = self.socket.flush();
        }
        sent.expect("sending to chromium");
        self.next_id
    }

    /// Calls `method` and returns its result.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.send(method, params);
        let started = Instant::now();
        loop {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{method} got no answer"
            );
            let Some(message) = self.receive() else {
                continue;
            };
            if message["id"] == id {
                assert!(message["error"].is_null(), "{method}: {}", message["error"]);
                return message["result"].clone();
            }
            if message["method"].is_string() {
                self.events.push(message);
            }
        }
    }

    /// Waits for the event `name` after the first `seen` events.
    fn wait_for(&mut self, name: &str, seen: usize) {
        let started = Instant::now();
        while !self.events[seen..].iter().any(|e| e["method"] == name) {
            assert!(started.elapsed() < Duration::from_secs(60), "no {name}");
            if let Some(message) = self.receive()
                && message["method"].is_string()
            {
                self.events.push(message);
            }
        }
    }

    /// Opens `url` and waits until it has loaded.
    pub fn open(&mut self, url: &str) {
        let seen = self.events.len();
        let result = self.call("Page.navigate", json!({"url": url}));
        assert!(
            result["errorText"].is_null(),
            "{url}: {}",
            result["errorText"]
        );
        self.wait_for("Page.loadEventFired", seen);
    }

    /// The value of a JavaScript expression in the page.
    pub fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
        );
        assert!(
            result["exceptionDetails"].is_null(),
            "{expression}: {}",
            result["exceptionDetails"]
        );
        result["result"]["value"].clone()
    }

    /// The element's box on the page once scrolled into view: x, y, width, height.
    fn rect(&mut self, selector: &str) -> (f64, f64, f64, f64) {
        let expression = format!(
            "(() => {{ const e = document.querySelector({selector:?}); if (!e) return null; \
             e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect(); \
             return [r.x, r.y, r.width, r.height]; }})()"
        );
        let value = self.eval(&expression);
        let r = value
            .as_array()
            .unwrap_or_else(|| panic!("no element {selector}"));
        let n = |i: usize| r[i].as_f64().expect("a number");
        (n(0), n(1), n(2), n(3))
    }

    /// Clicks the middle of the element as a mouse would.
    pub fn click(&mut self, selector: &str) {
        let (x, y, w, h) = self.rect(selector);
        let (x, y) = (x + w / 2.0, y + h / 2.0);
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            );
        }
    }

    /// Clicks what leads to another page and waits until that page has loaded.
    pub fn click_and_wait(&mut self, selector: &str) {
        let seen = self.events.len();
        self.click(selector);
        self.wait_for("Page.loadEventFired", seen);
    }

    /// Clicks the element `selector` names the way a script would (for marks too thin to hit
    /// at their middle, as an SVG line is) and waits until the page it leads to has loaded.
    pub fn follow(&mut self, selector: &str) {
        let seen = self.events.len();
        self.eval(&format!(
            "document.querySelector({selector:?}).dispatchEvent(new MouseEvent('click', {{bubbles: true}}))"
        ));
        self.wait_for("Page.loadEventFired", seen);
    }

    /// Clicks into a text field, empties it and types `text`.
    pub fn type_into(&mut self, selector: &str, text: &str) {
        self.click(selector);
        self.eval(&format!("document.querySelector({selector:?}).select()"));
        self.call("Input.insertText", json!({"text": text}));
    }

    /// A PNG screenshot of the element.
    pub fn screenshot(&mut self, selector: &str) -> Vec<u8> {
        let (x, y, w, h) = self.rect(selector);
        let scroll = self.eval("[window.scrollX, window.scrollY]");
        let (sx, sy) = (
            scroll[0].as_f64().unwrap_or(0.0),
            scroll[1].as_f64().unwrap_or(0.0),
        );
        let shot = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true,
                   "clip": {"x": x + sx, "y": y + sy, "width": w, "height": h, "scale": 1}}),
        );
        base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("image data"))
            .expect("base64")
    }

    /// Console errors, uncaught exceptions and dialogs so far, one line each.
    pub fn problems(&mut self) -> Vec<String> {
        // Let late events arrive.
        while let Some(message) = self.receive() {
            if message["method"].is_string() {
                self.events.push(message);
            }
        }
        self.events
            .iter()
            .filter_map(|e| match e["method"].as_str()? {
                "Runtime.exceptionThrown" => {
                    Some(format!("exception: {}", e["params"]["exceptionDetails"]))
                }
                "Runtime.consoleAPICalled"
                    if matches!(e["params"]["type"].as_str(), Some("error" | "assert")) =>
                {
                    Some(format!("console: {}", e["params"]["args"]))
                }
                "Log.entryAdded" if e["params"]["entry"]["level"] == "error" => {
                    Some(format!("log: {}", e["params"]["entry"]["text"]))
                }
                "Page.javascriptDialogOpening" => {
                    Some(format!("dialog: {}", e["params"]["message"]))
                }
                _ => None,
            })
            .collect()
    }
}

/// The browser's process, killed when dropped (its helper processes end with it).
#[derive(Debug)]
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Share of pixels that are not near-white, and how many distinct colours there are.
pub fn ink(png_bytes: &[u8]) -> (f64, usize) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buffer = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buffer).expect("a frame");
    let channels = frame.color_type.samples();
    let pixels: Vec<&[u8]> = buffer[..frame.buffer_size()].chunks(channels).collect();
    let inked = pixels
        .iter()
        .filter(|p| p.iter().take(3).any(|&c| c < 230))
        .count();
    let colours: std::collections::HashSet<&[u8]> = pixels.iter().copied().collect();
    (inked as f64 / pixels.len().max(1) as f64, colours.len())
}
