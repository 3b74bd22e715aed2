//! Duplicate and out-of-order JetStream deliveries, checked incrementally
//! for the guarantees panel.
//!
//! Input: every client's log of JetStream messages received
//! (`JsStats::deliveries`, each with its `$JS.ACK` reply subject, read
//! from where the last check stopped). Per consumer (stream and consumer
//! name) it keeps, for the deliveries whose delivery count is 1 (first
//! deliveries), the stream sequence of each consumer sequence. What counts
//! as broken, exactly:
//!
//! - **duplicate**: a stream sequence delivered with delivery count 1 under
//!   two different consumer sequences (nats-server's
//!   `TestJetStreamClusterStreamPublishWithActiveConsumers` and
//!   `TestJetStreamClusterNoDuplicateOnNodeRestart` require none, across
//!   consumer leader changes and restarts too); or the same delivery (same
//!   consumer sequence) arriving twice on one subscription.
//!   Allowed: redeliveries (delivery count > 1: ack wait, NAK, backoff),
//!   one delivery seen by several subscriptions of the deliver subject
//!   (core fan-out, several `nats sub` on it).
//! - **order**: among first deliveries, a higher consumer sequence carrying
//!   a lower stream sequence than an earlier one (the consumer delivers in
//!   stream order). Checked by consumer sequence, not by arrival: several
//!   workers pulling, or members of a deliver group, may see their
//!   messages in any interleaving. Redeliveries are out of order by design
//!   and ignored.
//!
//! A first delivery with consumer sequence 1 starts the consumer afresh
//! (recreated under the same name): its earlier state is forgotten.
//! Core NATS subscriptions are not checked: a core message carries no
//! publisher identity or sequence the page could compare.

use jetsim_core::vecmap::VecMap as BTreeMap; // sorted Vec: one map type less in the wasm; keys mostly arrive in order
use std::rc::Rc;

use jetsim_core::sim::World;
use jetsim_core::time::Time;

/// Breaks kept per kind (the count is always whole).
pub const BREAKS_KEPT: usize = 20;

/// The metadata of a `$JS.ACK` reply subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AckMeta {
    pub stream: String,
    pub consumer: String,
    pub delivered: u64,
    pub stream_seq: u64,
    pub consumer_seq: u64,
    pub timestamp: i64,
    pub pending: u64,
}

/// Parse `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>`
/// (and the 2.9+ form with domain and account hash in front, and a random
/// token after), as nats.go's `getMetadataFields`.
pub fn parse_ack(reply: &str) -> Option<AckMeta> {
    let t: Vec<&str> = reply.split('.').collect();
    if t.len() < 9 || t[0] != "$JS" || t[1] != "ACK" {
        return None;
    }
    let o = match t.len() {
        9 => 2,
        n if n >= 11 => 4,
        _ => return None,
    };
    Some(AckMeta {
        stream: t[o].to_string(),
        consumer: t[o + 1].to_string(),
        delivered: t[o + 2].parse().ok()?,
        stream_seq: t[o + 3].parse().ok()?,
        consumer_seq: t[o + 4].parse().ok()?,
        timestamp: t[o + 5].parse().ok()?,
        pending: t[o + 6].parse().ok()?,
    })
}

/// One break, for the panel.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryBreak {
    pub at: Time,
    pub text: String,
}

#[derive(Clone, Debug, Default)]
struct ConsumerState {
    /// First deliveries: consumer seq → (stream seq, client name, sid, time).
    by_dseq: BTreeMap<u64, (u64, Rc<str>, u64, Time)>,
    /// First deliveries: stream seq → consumer seq.
    by_sseq: BTreeMap<u64, u64>,
}

/// The incremental checker.
#[derive(Clone, Debug, Default)]
pub struct DeliveryCheck {
    /// Per client: deliveries read so far (`JsStats::deliveries_seen`).
    read: Vec<u64>,
    consumers: BTreeMap<(String, String), ConsumerState>,
    pub duplicates: Vec<DeliveryBreak>,
    pub duplicates_total: u64,
    pub order: Vec<DeliveryBreak>,
    pub order_total: u64,
    /// Deliveries checked, and those the bounded logs dropped unread.
    pub checked: u64,
    pub missed: u64,
}

impl DeliveryCheck {
    /// Read what arrived since the last call. A world whose clients have
    /// seen fewer deliveries than already read (a rebuilt run) restarts the
    /// check.
    pub fn update(&mut self, w: &World) {
        let n = w.clients.len();
        let rebuilt =
            self.read.len() != n || w.clients.iter().zip(&self.read).any(|(c, &r)| c.node.js.deliveries_seen < r);
        if rebuilt {
            *self = DeliveryCheck { read: vec![0; n], ..Default::default() };
        }
        // Oldest first across clients, so a break is reported at its later
        // delivery whichever client saw it.
        let mut new: Vec<(Time, usize, u64, &jetsim_core::client::JsDelivery)> = Vec::new();
        for (ci, c) in w.clients.iter().enumerate() {
            let js = &c.node.js;
            let unread = js.deliveries_seen - self.read[ci];
            let have = js.deliveries.len() as u64;
            if unread > have {
                self.missed += unread - have;
            }
            let skip = (have - unread.min(have)) as usize;
            for (k, d) in js.deliveries.iter().enumerate().skip(skip) {
                new.push((d.at, ci, k as u64, d));
            }
            self.read[ci] = js.deliveries_seen;
        }
        jetsim_core::sort::sort_by_key(&mut new, |(at, ci, k, _)| (*at, *ci, *k));
        for (_, ci, _, d) in new {
            let name: Rc<str> = Rc::from(w.clients[ci].node.config.name.as_str());
            self.observe(name, d.sid, d.at, &d.reply);
        }
    }

    /// Check one delivery.
    pub fn observe(&mut self, client: Rc<str>, sid: u64, at: Time, reply: &str) {
        let Some(m) = parse_ack(reply) else { return };
        self.checked += 1;
        if m.delivered != 1 {
            return;
        }
        let key = (m.stream.clone(), m.consumer.clone());
        if m.consumer_seq == 1 {
            // A fresh consumer, unless this is a copy of its first delivery.
            let copy =
                self.consumers.get(&key).and_then(|c| c.by_dseq.get(&1)).is_some_and(|(s, ..)| *s == m.stream_seq);
            if !copy {
                self.consumers.remove(&key);
            }
        }
        let c = self.consumers.entry(key).or_default();
        let who = format!("{}'s subscription {sid}", client);
        if let Some((sseq, c0, sid0, _)) = c.by_dseq.get(&m.consumer_seq) {
            if *sseq == m.stream_seq {
                if *c0 == client && *sid0 == sid {
                    push(
                        &mut self.duplicates,
                        &mut self.duplicates_total,
                        at,
                        format!(
                            "{} > {}: the delivery of stream seq {} (consumer seq {}) arrived twice on {who}",
                            m.stream, m.consumer, m.stream_seq, m.consumer_seq
                        ),
                    );
                }
                // Else: another subscription of the deliver subject (fan-out).
                return;
            }
        }
        if let Some(&dseq0) = c.by_sseq.get(&m.stream_seq) {
            if dseq0 != m.consumer_seq {
                let (_, c0, _, at0) = c.by_dseq.get(&dseq0).cloned().unwrap_or((0, Rc::from("?"), 0, 0));
                push(
                    &mut self.duplicates,
                    &mut self.duplicates_total,
                    at,
                    format!(
                        "{} > {}: stream seq {} delivered again with delivery count 1 (consumer seq {} to {client}; first as consumer seq {dseq0} to {c0} at {})",
                        m.stream,
                        m.consumer,
                        m.stream_seq,
                        m.consumer_seq,
                        jetsim_core::time::fmt_time(at0)
                    ),
                );
                c.by_dseq.insert(m.consumer_seq, (m.stream_seq, client, sid, at));
                return;
            }
        }
        // Order: the nearest first delivery before this consumer seq must
        // carry a lower stream seq, the nearest after a higher one.
        let before = c.by_dseq.range(..m.consumer_seq).next_back().map(|(d, (s, ..))| (*d, *s));
        let after = c.by_dseq.range(m.consumer_seq + 1..).next().map(|(d, (s, ..))| (*d, *s));
        let bad = match (before, after) {
            (Some((d, s)), _) if s > m.stream_seq => Some((d, s)),
            (_, Some((d, s))) if s < m.stream_seq => Some((d, s)),
            _ => None,
        };
        if let Some((d, s)) = bad {
            push(
                &mut self.order,
                &mut self.order_total,
                at,
                format!(
                    "{} > {}: consumer seq {} carries stream seq {} but consumer seq {d} carried stream seq {s} (first deliveries out of stream order; to {client})",
                    m.stream, m.consumer, m.consumer_seq, m.stream_seq
                ),
            );
        }
        c.by_dseq.insert(m.consumer_seq, (m.stream_seq, client, sid, at));
        c.by_sseq.insert(m.stream_seq, m.consumer_seq);
    }
}

fn push(list: &mut Vec<DeliveryBreak>, total: &mut u64, at: Time, text: String) {
    *total += 1;
    if list.len() < BREAKS_KEPT {
        list.push(DeliveryBreak { at, text });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(s: &str, c: &str, dc: u64, sseq: u64, dseq: u64) -> String {
        format!("$JS.ACK.{s}.{c}.{dc}.{sseq}.{dseq}.1700000000000000000.0")
    }

    #[test]
    fn ack_subjects_parse_in_both_forms() {
        let m = parse_ack("$JS.ACK.ORDERS.w.2.17.30.1700000000000000000.5").expect("v1");
        assert_eq!(
            (m.stream.as_str(), m.consumer.as_str(), m.delivered, m.stream_seq, m.consumer_seq, m.pending),
            ("ORDERS", "w", 2, 17, 30, 5)
        );
        let m = parse_ack("$JS.ACK.hub.ACC.ORDERS.w.1.3.4.1700000000000000000.0.abc").expect("v2");
        assert_eq!((m.stream.as_str(), m.stream_seq, m.consumer_seq), ("ORDERS", 3, 4));
        for bad in ["$JS.ACK.S.C.x.1.1.1.0", "$JS.ACK.S.C.1.1", "orders.new", "$JS.ACK.a.b.c.d.e.f.g.h.i.j"] {
            assert_eq!(parse_ack(bad), None, "{bad}");
        }
    }

    #[test]
    fn redeliveries_and_fanout_are_allowed_duplicates_and_backward_seqs_are_not() {
        let c: Rc<str> = Rc::from("c1");
        let mut k = DeliveryCheck::default();
        k.observe(c.clone(), 1, 10, &ack("S", "w", 1, 1, 1));
        k.observe(c.clone(), 1, 11, &ack("S", "w", 1, 2, 2));
        k.observe(c.clone(), 1, 12, &ack("S", "w", 2, 1, 3)); // redelivery
        k.observe(Rc::from("c2"), 7, 12, &ack("S", "w", 1, 2, 2)); // fan-out copy
        k.observe(c.clone(), 1, 13, &ack("S", "w", 1, 3, 4));
        k.observe(c.clone(), 1, 13, &ack("S", "other", 1, 1, 1)); // another consumer
        assert_eq!((k.duplicates_total, k.order_total, k.checked), (0, 0, 6), "{k:?}");
        // The same stream seq as a first delivery again.
        k.observe(c.clone(), 1, 20, &ack("S", "w", 1, 2, 5));
        assert_eq!(k.duplicates_total, 1);
        assert!(
            k.duplicates[0].text.contains("stream seq 2 delivered again with delivery count 1"),
            "{:?}",
            k.duplicates
        );
        assert_eq!(k.duplicates[0].at, 20);
        // The same delivery twice on one subscription.
        k.observe(c.clone(), 1, 21, &ack("S", "w", 1, 3, 4));
        assert_eq!(k.duplicates_total, 2);
        assert!(k.duplicates[1].text.contains("arrived twice on c1's subscription 1"), "{:?}", k.duplicates);
        // Going backwards: consumer seq 7 carries stream seq 4 after 6 carried 9.
        k.observe(c.clone(), 1, 30, &ack("S", "w", 1, 9, 6));
        k.observe(c.clone(), 1, 31, &ack("S", "w", 1, 4, 7));
        assert_eq!(k.order_total, 1, "{k:?}");
        assert_eq!(k.order[0].at, 31);
        assert!(
            k.order[0].text.contains("consumer seq 7 carries stream seq 4 but consumer seq 6 carried stream seq 9"),
            "{:?}",
            k.order
        );
        // Recreated consumer: starts again at consumer seq 1.
        k.observe(c.clone(), 2, 40, &ack("S", "w", 1, 1, 1));
        k.observe(c, 2, 41, &ack("S", "w", 1, 2, 2));
        assert_eq!((k.duplicates_total, k.order_total), (2, 1));
    }
}
