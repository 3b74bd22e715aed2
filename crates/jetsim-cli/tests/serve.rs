//! `jetsim serve` end to end: the binary on free ports, plain TCP clients
//! speaking the NATS protocol, control commands on stdin.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_jetsim");

struct Serve {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    urls: Vec<u16>,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    fn start(args: &[&str]) -> Serve {
        let mut child = Command::new(BIN)
            .arg("serve")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("jetsim starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut s = Serve { child, stdin, lines, urls: Vec::new() };
        loop {
            let line = s.line();
            if line == "ready" {
                break;
            }
            let port = line.strip_prefix("nats://127.0.0.1:").unwrap_or_else(|| panic!("unexpected line {line:?}"));
            s.urls.push(port.parse().unwrap());
        }
        s
    }

    /// The next stdout line (within 20 s of wall time).
    fn line(&mut self) -> String {
        self.lines.recv_timeout(Duration::from_secs(20)).expect("a line from jetsim serve")
    }

    fn send(&mut self, cmd: &str) -> String {
        writeln!(self.stdin, "{cmd}").unwrap();
        self.stdin.flush().unwrap();
        self.line()
    }
}

struct Client {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn connect(port: u16) -> (Client, String) {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connects");
        s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let mut c = Client { s, buf: Vec::new() };
        let info = c.until("\r\n");
        assert!(info.starts_with("INFO {"), "{info}");
        c.write("CONNECT {\"verbose\":false,\"pedantic\":false,\"protocol\":1,\"headers\":true,\"lang\":\"rust-test\"}\r\nPING\r\n");
        assert_eq!(c.until("\r\n"), "PONG\r\n");
        // nats-server 2.12.8 follows the first PONG with INFO (connect_info).
        let second = c.until("\r\n");
        assert!(second.starts_with("INFO {") && second.contains("\"connect_info\":true"), "{second}");
        (c, info)
    }

    /// The next protocol line that is not an (async) INFO.
    fn ctl(&mut self) -> String {
        loop {
            let line = self.until("\r\n");
            if !line.starts_with("INFO ") {
                return line;
            }
        }
    }

    fn write(&mut self, s: &str) {
        self.s.write_all(s.as_bytes()).unwrap();
    }

    /// Read until the buffer holds `pat`; return everything up to and including it.
    fn until(&mut self, pat: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(i) = find(&self.buf, pat.as_bytes()) {
                let rest = self.buf.split_off(i + pat.len());
                return String::from_utf8_lossy(&std::mem::replace(&mut self.buf, rest)).into_owned();
            }
            assert!(Instant::now() < deadline, "no {pat:?} in {:?}", String::from_utf8_lossy(&self.buf));
            let mut b = [0u8; 4096];
            match self.s.read(&mut b) {
                Ok(0) => panic!("closed while waiting for {pat:?}: {:?}", String::from_utf8_lossy(&self.buf)),
                Ok(k) => self.buf.extend_from_slice(&b[..k]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(e) => panic!("read: {e}"),
            }
        }
    }

    /// Wait for the server to close the connection (EOF).
    fn closed(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let mut b = [0u8; 4096];
            match self.s.read(&mut b) {
                Ok(0) => return true,
                Ok(k) => self.buf.extend_from_slice(&b[..k]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(_) => return true,
            }
        }
        false
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn json_of_info(info: &str) -> serde_json::Value {
    serde_json::from_str(info.trim_start_matches("INFO ").trim_end()).expect("INFO is JSON")
}

#[test]
fn real_clients_pub_sub_jetstream_and_kill() {
    let mut srv = Serve::start(&["--port", "0", "--servers", "3", "--seed", "4"]);
    assert_eq!(srv.urls.len(), 3);
    let (mut a, info) = Client::connect(srv.urls[0]);
    let info = json_of_info(&info);
    assert_eq!(info["version"], "2.12.8");
    assert_eq!(info["server_name"], "n1");
    assert_eq!(info["port"], srv.urls[0]);
    assert_eq!(info["host"], "127.0.0.1");
    assert_eq!(info["cluster"], "jetsim");
    assert_eq!(info["jetstream"], true);
    assert_eq!(info["connect_urls"].as_array().map(Vec::len), Some(3), "{info}");
    let (mut b, _) = Client::connect(srv.urls[2]);

    // Core pub/sub across servers.
    a.write("SUB orders.> 1\r\nPING\r\n");
    assert_eq!(a.ctl(), "PONG\r\n");
    b.write("PUB orders.new 5\r\nhello\r\nPING\r\n");
    assert_eq!(b.ctl(), "PONG\r\n");
    assert_eq!(a.until("hello\r\n"), "MSG orders.new 1 5\r\nhello\r\n");

    // A stream, then a JetStream publish acknowledged after quorum.
    b.write("SUB _INBOX.t.* 9\r\n");
    let cfg = r#"{"name":"ORDERS","subjects":["orders.>"],"num_replicas":3,"storage":"file"}"#;
    b.write(&format!("PUB $JS.API.STREAM.CREATE.ORDERS _INBOX.t.1 {}\r\n{cfg}\r\n", cfg.len()));
    let head = b.ctl();
    assert!(head.starts_with("MSG _INBOX.t.1 9 "), "{head}");
    let created = b.ctl();
    assert!(created.contains("\"type\":\"io.nats.jetstream.api.v1.stream_create_response\""), "{created}");
    assert!(!created.contains("\"error\""), "{created}");
    b.write("PUB orders.paid _INBOX.t.2 2\r\nhi\r\n");
    let head = b.ctl();
    assert!(head.starts_with("MSG _INBOX.t.2 9 "), "{head}");
    let ack: serde_json::Value = serde_json::from_str(b.ctl().trim_end()).unwrap();
    assert_eq!(ack["stream"], "ORDERS");
    assert_eq!(ack["seq"], 1);

    // Malformed input: -ERR and close, as nats-server.
    let (mut bad, _) = Client::connect(srv.urls[1]);
    bad.write("FOO\r\n");
    assert_eq!(bad.ctl(), "-ERR 'Unknown Protocol Operation'\r\n");
    assert!(bad.closed());

    // A client that goes away is forgotten (its server gets the FIN).
    let before = srv.send("status");
    assert!(before.contains("connections=2"), "{before}");
    let (gone, _) = Client::connect(srv.urls[1]);
    assert!(srv.send("status").contains("connections=3"));
    drop(gone);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !srv.send("status").contains("connections=2") {
        assert!(Instant::now() < deadline, "the closed connection is detached");
        std::thread::sleep(Duration::from_millis(20));
    }

    // Kill n1 from stdin: its client sees the connection close, its port refuses.
    let said = srv.send("kill n1");
    assert!(said.contains("kill n1") && said.contains("server n1 is down"), "{said}");
    assert!(a.closed(), "the killed server's connection closes");
    let refused = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        TcpStream::connect(("127.0.0.1", srv.urls[0])).is_err()
    });
    assert!(refused, "a dead server's port refuses connections");
    let said = srv.send("status");
    assert!(said.contains("n1=down") && said.contains("n2=up"), "{said}");
    // Errors on stdin are reported, not fatal.
    assert!(srv.send("kill n9").starts_with("error: "));
    // Restarted, it accepts again.
    let said = srv.send("restart n1");
    assert!(said.contains("server n1 is up"), "{said}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(("127.0.0.1", srv.urls[0])).is_err() {
        assert!(Instant::now() < deadline, "n1 listens again after restart");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (mut again, _) = Client::connect(srv.urls[0]);
    again.write("PING\r\n");
    assert_eq!(again.ctl(), "PONG\r\n");
    // Timed steps: in the past applies now, in the future when it is due.
    assert!(srv.send("at 0s note hello").contains(": note \"hello\" (note: hello)"));
    let t = Instant::now();
    let said = srv.send("+300ms pause n2");
    assert!(said.starts_with("scheduled at "), "{said}");
    let done = srv.line();
    assert!(done.contains("pause n2") && done.contains("server n2 is paused"), "{done}");
    assert!(t.elapsed() >= Duration::from_millis(250), "applied after {:?}", t.elapsed());
    assert!(srv.send("+1s kill nobody").starts_with("error: "));
    writeln!(srv.stdin, "quit").unwrap();
    srv.stdin.flush().unwrap();
    let status = srv.child.wait().unwrap();
    assert!(status.success());
}

#[test]
fn single_server_from_a_scenario_with_its_timeline() {
    let dir = std::env::temp_dir().join(format!("jetsim-serve-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("one.jetsim");
    std::fs::write(&path, "jetsim 1\nserver solo jetstream=true\nat 1500ms kill solo\n").unwrap();
    let srv = Serve::start(&["--port", "0", path.to_str().unwrap()]);
    assert_eq!(srv.urls.len(), 1);
    let (mut c, info) = Client::connect(srv.urls[0]);
    let info = json_of_info(&info);
    assert_eq!(info["server_name"], "solo");
    assert!(info.get("connect_urls").is_none(), "a server without a cluster announces none: {info}");
    assert!(info.get("cluster").is_none(), "a lone server is standalone: {info}");
    // The scenario's own timeline runs in real time: killed at 1.5 s.
    let t = Instant::now();
    assert!(c.closed());
    assert!(t.elapsed() < Duration::from_secs(3));
    let _ = std::fs::remove_dir_all(&dir);
}

fn fails(args: &[&str]) -> String {
    let out = Command::new(BIN).arg("serve").args(args).stdin(Stdio::null()).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn errors_are_clear_and_exit_2() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let err = fails(&["--port", &port, "--servers", "1"]);
    assert!(err.contains(&format!("cannot listen on 127.0.0.1:{port} for n1")), "{err}");
    assert!(fails(&["/nonexistent/x.jetsim"]).contains("/nonexistent/x.jetsim"));
    assert!(fails(&["--servers", "0"]).contains("--servers 0"));
    assert!(fails(&["--servers", "40"]).contains("between 1 and 32"));
    assert!(fails(&["--raft-timescale", "0/3", "--port", "0"]).contains("--raft-timescale"));
    assert!(fails(&["--port", "65535", "--servers", "3"]).contains("beyond 65535"));
    assert!(fails(&["--bogus"]).contains("unknown option --bogus"));
}
