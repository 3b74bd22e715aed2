//! External clients (what `jetsim serve` and nats.js in the page use): bytes
//! fed in from outside at a virtual time, the server's answers taken out.

use jetsim_core::external::{Advertise, ExternalEvent, MAX_EXTERNAL};
use jetsim_core::scenario::{parse, Fault};
use jetsim_core::sim::World;
use jetsim_core::time::{Time, MS, SEC};
use jetsim_core::trace::Endpoint;

const THREE: &str = "jetsim 1
server n1 jetstream=true
server n2 jetstream=true
server n3 jetstream=true
link default latency=1ms
";

fn world(text: &str, seed: u64) -> World {
    let sc = parse(text).unwrap_or_else(|e| panic!("scenario does not parse: {e}"));
    let mut w = World::new(sc, seed).expect("world builds");
    w.trace.set_capacity(0);
    w
}

/// Everything the server sent since the last call, as text, and whether it closed.
fn take(w: &mut World, ep: Endpoint) -> (String, bool) {
    let mut text = String::new();
    let mut closed = false;
    for e in w.external_take(ep) {
        match e {
            ExternalEvent::Bytes(b) => text.push_str(&String::from_utf8_lossy(&b)),
            ExternalEvent::Closed => closed = true,
        }
    }
    (text, closed)
}

fn advance(w: &mut World, d: Time) {
    let t = w.now() + d;
    w.run_until(t);
}

/// Attach and complete the handshake (INFO, CONNECT, PING → PONG).
fn connect(w: &mut World, server: &str) -> Endpoint {
    let s = w.endpoint(server).expect("server exists");
    let ep = w.attach_external(s).expect("attach");
    advance(w, 10 * MS);
    let (info, closed) = take(w, ep);
    assert!(info.starts_with("INFO {") && info.ends_with("} \r\n"), "{info:?}");
    assert!(!closed);
    w.external_send(ep, b"CONNECT {\"verbose\":false,\"pedantic\":false,\"protocol\":1,\"headers\":true}\r\nPING\r\n")
        .unwrap();
    advance(w, 10 * MS);
    assert_eq!(take(w, ep), ("PONG\r\n".to_string(), false));
    ep
}

#[test]
fn attach_gets_the_servers_info_and_answers_ping() {
    let mut w = world(THREE, 1);
    let n2 = w.endpoint("n2").unwrap();
    let ep = w.attach_external(n2).unwrap();
    assert_eq!(w.external_server(ep), Some(n2));
    // INFO comes one round trip (1 ms each way) after the connect, not before.
    let t0 = w.now();
    w.run_until(t0 + 2 * MS - 1);
    assert_eq!(take(&mut w, ep), (String::new(), false));
    w.run_until(t0 + 2 * MS);
    let (info, _) = take(&mut w, ep);
    let json: serde_json::Value =
        serde_json::from_str(info.trim_start_matches("INFO ").trim_end()).expect("INFO is JSON");
    assert_eq!(json["version"], "2.12.8");
    assert_eq!(json["server_name"], "n2");
    assert_eq!(json["proto"], 1);
    assert_eq!(json["headers"], true);
    assert_eq!(json["jetstream"], true);
    assert_eq!(json["max_payload"], 1048576);
    assert!(json["client_id"].as_u64().unwrap() > 0);
    // An empty CONNECT leaves nats-server's default verbose=true: +OK first.
    w.external_send(ep, b"CONNECT {}\r\nPING\r\n").unwrap();
    advance(&mut w, 5 * MS);
    assert_eq!(take(&mut w, ep), ("+OK\r\nPONG\r\n".to_string(), false));
}

#[test]
fn advertised_addresses_are_in_info() {
    let mut w = world(THREE, 1);
    let ports: jetsim_core::vecmap::VecMap<Endpoint, u16> = (0..3).map(|i| (i, 14222 + i as u16)).collect();
    w.set_advertise(Advertise { host: "127.0.0.1".into(), ports });
    w.apply_fault(&Fault::Kill("n3".into()));
    let ep = w.attach_external(1).unwrap();
    advance(&mut w, 5 * MS);
    let (info, _) = take(&mut w, ep);
    let json: serde_json::Value = serde_json::from_str(info.trim_start_matches("INFO ").trim_end()).unwrap();
    assert_eq!(json["host"], "127.0.0.1");
    assert_eq!(json["port"], 14223);
    assert_eq!(json["git_commit"], "b692325");
    assert_eq!(json["api_lvl"], 3);
    // Itself first, then the peers it has a route to: n3 is down.
    assert_eq!(json["connect_urls"], serde_json::json!(["127.0.0.1:14223", "127.0.0.1:14222"]));
    // A restarted server keeps announcing the real address.
    w.apply_fault(&Fault::Restart("n3".into()));
    let ep3 = w.attach_external(2).unwrap();
    advance(&mut w, 5 * MS);
    let (info, _) = take(&mut w, ep3);
    assert!(info.contains("\"port\":14224"), "{info}");
    assert!(info.contains("\"connect_urls\":[\"127.0.0.1:14224\",\"127.0.0.1:14222\",\"127.0.0.1:14223\"]"), "{info}");
}

#[test]
fn pub_sub_between_external_clients_on_different_servers() {
    let mut w = world(THREE, 3);
    let sub = connect(&mut w, "n1");
    let publ = connect(&mut w, "n3");
    w.external_send(sub, b"SUB orders.> 7\r\nPING\r\n").unwrap();
    advance(&mut w, 10 * MS);
    assert_eq!(take(&mut w, sub).0, "PONG\r\n");
    w.external_send(publ, b"PUB orders.new 5\r\nhello\r\nPUB other 2\r\nno\r\n").unwrap();
    advance(&mut w, 10 * MS);
    assert_eq!(take(&mut w, sub), ("MSG orders.new 7 5\r\nhello\r\n".to_string(), false));
    assert_eq!(take(&mut w, publ), (String::new(), false));
}

#[test]
fn jetstream_account_info_request() {
    let mut w = world(THREE, 5);
    w.run_until(3 * SEC);
    assert!(w.meta_leader(0).is_some(), "meta leader elected within 3 s");
    let ep = connect(&mut w, "n2");
    w.external_send(ep, b"SUB _INBOX.r 1\r\nPUB $JS.API.INFO _INBOX.r 0\r\n\r\n").unwrap();
    advance(&mut w, 50 * MS);
    let (text, closed) = take(&mut w, ep);
    assert!(!closed);
    assert!(text.starts_with("MSG _INBOX.r 1 "), "{text}");
    let body = text.split_once("\r\n").unwrap().1.trim_end();
    let json: serde_json::Value = serde_json::from_str(body).expect("reply is JSON");
    assert_eq!(json["type"], "io.nats.jetstream.api.v1.account_info_response", "{body}");
    assert_eq!(json["streams"], 0);
}

#[test]
fn killing_the_server_closes_the_connection_and_refuses_new_ones() {
    let mut w = world(THREE, 1);
    let ep = connect(&mut w, "n2");
    w.apply_fault(&Fault::Kill("n2".into()));
    advance(&mut w, 10 * MS);
    assert_eq!(take(&mut w, ep), (String::new(), true));
    assert!(w.external_closed(ep));
    assert!(w.external_send(ep, b"PING\r\n").unwrap_err().contains("closed"));
    let err = w.attach_external(1).unwrap_err();
    assert_eq!(err, "server n2 is down");
    w.apply_fault(&Fault::Restart("n2".into()));
    w.detach_external(ep);
    let again = connect(&mut w, "n2");
    assert_eq!(again, ep, "the freed endpoint is reused");
}

#[test]
fn malformed_bytes_get_err_and_close_as_nats_server_does() {
    let mut w = world(THREE, 1);
    let ep = connect(&mut w, "n1");
    w.external_send(ep, b"FOO\r\n").unwrap();
    advance(&mut w, 10 * MS);
    assert_eq!(take(&mut w, ep), ("-ERR 'Unknown Protocol Operation'\r\n".to_string(), true));
    // A bad subject keeps the connection open.
    let ep = connect(&mut w, "n1");
    w.external_send(ep, b"SUB foo..bar 1\r\nPING\r\n").unwrap();
    advance(&mut w, 10 * MS);
    assert_eq!(take(&mut w, ep), ("-ERR 'Invalid Subject'\r\nPONG\r\n".to_string(), false));
}

#[test]
fn detach_tells_the_server_and_stale_bytes_do_not_reach_the_next_connection() {
    let mut w = world(THREE, 1);
    let sub = connect(&mut w, "n1");
    let publ = connect(&mut w, "n1");
    w.external_send(sub, b"SUB a 1\r\nPING\r\n").unwrap();
    advance(&mut w, 10 * MS);
    take(&mut w, sub);
    let before = w.servers[0].node.summary().connections;
    // A message is on its way to `sub` when it goes away.
    w.external_send(publ, b"PUB a 1\r\nx\r\n").unwrap();
    w.run_until(w.now() + MS + MS / 2);
    w.detach_external(sub);
    let next = w.attach_external(0).unwrap();
    assert_eq!(next, sub);
    advance(&mut w, 10 * MS);
    let (text, _) = take(&mut w, next);
    assert!(text.starts_with("INFO "), "{text}");
    assert!(!text.contains("MSG"), "the old connection's MSG leaked: {text}");
    assert_eq!(w.servers[0].node.summary().connections, before, "one closed, one opened");
}

#[test]
fn connection_limit_is_enforced() {
    let mut w = world("jetsim 1\nserver n1\n", 1);
    for _ in 0..MAX_EXTERNAL {
        w.attach_external(0).unwrap();
    }
    let err = w.attach_external(0).unwrap_err();
    assert!(err.contains("limit"), "{err}");
    assert!(w.attach_external(9).is_err());
}

/// The same timed input gives the same trace; different input a different one.
fn scripted(seed: u64, payload: &[u8]) -> u64 {
    let sc = parse(THREE).unwrap();
    let mut w = World::new(sc, seed).unwrap();
    w.run_until(2 * SEC);
    let a = w.attach_external(0).unwrap();
    let b = w.attach_external(2).unwrap();
    advance(&mut w, 3 * MS);
    w.external_send(a, b"CONNECT {}\r\nSUB x 1\r\n").unwrap();
    w.external_send(b, b"CONNECT {}\r\n").unwrap();
    advance(&mut w, 7 * MS);
    let mut p = format!("PUB x {}\r\n", payload.len()).into_bytes();
    p.extend_from_slice(payload);
    p.extend_from_slice(b"\r\nPUB $JS.API.INFO x 0\r\n\r\n");
    w.external_send(b, &p).unwrap();
    advance(&mut w, 50 * MS);
    w.apply_fault(&Fault::Kill("n1".into()));
    advance(&mut w, SEC);
    let (text, closed) = take(&mut w, a);
    assert!(closed);
    assert!(text.contains("MSG x 1"), "{text}");
    w.trace.hash()
}

#[test]
fn trace_is_deterministic_given_the_same_timed_input() {
    let h = scripted(9, b"hello");
    assert_eq!(h, scripted(9, b"hello"));
    assert_ne!(h, scripted(9, b"hello!"), "the input is part of the trace");
    assert_ne!(h, scripted(10, b"hello"), "so is the seed");
}

#[test]
fn scenario_link_rules_apply_to_external_connections() {
    let text = format!("{THREE}link clients n3 latency=20ms\n");
    let mut w = world(&text, 1);
    let near = w.attach_external(0).unwrap();
    let far = w.attach_external(2).unwrap();
    let t0 = w.now();
    w.run_until(t0 + 2 * MS);
    assert!(take(&mut w, near).0.starts_with("INFO "), "1 ms each way to n1");
    w.run_until(t0 + 40 * MS - 1);
    assert_eq!(take(&mut w, far), (String::new(), false), "20 ms each way to n3");
    w.run_until(t0 + 40 * MS);
    assert!(take(&mut w, far).0.starts_with("INFO "));
}

#[test]
fn a_paused_server_answers_after_resume() {
    let mut w = world(THREE, 1);
    w.apply_fault(&Fault::Pause("n1".into()));
    let ep = w.attach_external(0).expect("a paused server still accepts the connection");
    advance(&mut w, SEC);
    assert_eq!(take(&mut w, ep), (String::new(), false));
    w.apply_fault(&Fault::Resume("n1".into()));
    advance(&mut w, 5 * MS);
    assert!(take(&mut w, ep).0.starts_with("INFO "));
}

#[test]
fn with_addresses_info_follows_the_first_ping_and_route_changes() {
    let mut w = world(THREE, 1);
    let ports: jetsim_core::vecmap::VecMap<Endpoint, u16> = (0..3).map(|i| (i, 4222 + i as u16)).collect();
    w.set_advertise(Advertise { host: "127.0.0.1".into(), ports });
    let ep = w.attach_external(0).unwrap();
    advance(&mut w, 5 * MS);
    take(&mut w, ep);
    // nats-server 2.12.8: PONG, then INFO with connect_info and the account.
    w.external_send(ep, b"CONNECT {\"verbose\":false,\"protocol\":1}\r\nPING\r\n").unwrap();
    advance(&mut w, 5 * MS);
    let (text, _) = take(&mut w, ep);
    let info = text.strip_prefix("PONG\r\nINFO ").unwrap_or_else(|| panic!("{text}"));
    let json: serde_json::Value = serde_json::from_str(info.trim_end()).unwrap();
    assert_eq!(json["connect_info"], true);
    assert_eq!(json["remote_account"], "$G");
    assert_eq!(json["connect_urls"], serde_json::json!(["127.0.0.1:4222", "127.0.0.1:4223", "127.0.0.1:4224"]));
    // Only after the first PING.
    w.external_send(ep, b"PING\r\n").unwrap();
    advance(&mut w, 5 * MS);
    assert_eq!(take(&mut w, ep).0, "PONG\r\n");
    // A route goes down, then up: an async INFO each time, without connect_info.
    w.apply_fault(&Fault::Kill("n2".into()));
    advance(&mut w, 5 * MS);
    let (text, _) = take(&mut w, ep);
    assert!(text.starts_with("INFO ") && !text.contains("connect_info"), "{text}");
    assert!(text.contains("\"connect_urls\":[\"127.0.0.1:4222\",\"127.0.0.1:4224\"]"), "{text}");
    w.apply_fault(&Fault::Restart("n2".into()));
    advance(&mut w, 5 * MS);
    let (text, _) = take(&mut w, ep);
    assert!(text.contains("\"connect_urls\":[\"127.0.0.1:4222\",\"127.0.0.1:4223\",\"127.0.0.1:4224\"]"), "{text}");
    // A protocol-0 client gets no INFO after its PONG, and none on route changes.
    let old = w.attach_external(2).unwrap();
    advance(&mut w, 5 * MS);
    take(&mut w, old);
    w.external_send(old, b"CONNECT {\"verbose\":false,\"protocol\":0}\r\nPING\r\n").unwrap();
    advance(&mut w, 5 * MS);
    assert_eq!(take(&mut w, old).0, "PONG\r\n");
    w.apply_fault(&Fault::Kill("n2".into()));
    advance(&mut w, 5 * MS);
    assert_eq!(take(&mut w, old).0, "");
}
