//! The event log's lines, kept outside Yew's diff.
//!
//! Yew renders the `<ol id="log">` empty; [`LogDom::sync`] brings its `<li>`
//! up to date with the session's log after a render: it removes the lines
//! that left the log and appends the new ones in one `insertAdjacentHTML`
//! (escaped), or, when most lines changed (10×: thousands of lines a second
//! arrive), replaces them all in one `innerHTML`. A refresh so costs one
//! parse of the new lines instead of one DOM call per node. Clicks on a
//! PubAck line are delegated to the `<ol>` ([`ack_seq`]).

use std::collections::VecDeque;
use std::fmt::Write;

use jetsim_core::time::fmt_time;

use super::session::LogEntry;

/// What the `<ol>` shows: each line's seq and a hash of its content, oldest
/// first, and which `<ol>` element it is.
#[derive(Default)]
pub struct LogDom {
    ol: Option<web_sys::Element>,
    lines: VecDeque<(u64, u64)>,
}

/// A line's identity: its seq and a hash of what it says (a new session or
/// another seed reuses seq numbers with other events).
fn line_id(e: &LogEntry) -> (u64, u64) {
    // FNV-1a: deterministic, no allocation.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in e.at.to_le_bytes().iter().chain(e.text.as_bytes()).chain(e.class.as_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (e.seq, h)
}

/// What to do to go from the lines shown to the lines wanted.
#[derive(Debug, PartialEq, Eq)]
pub enum Plan {
    /// Nothing changed.
    Keep,
    /// Remove this many lines from the top, then append wanted[from..].
    Shift { remove: usize, from: usize },
    /// Replace every line.
    Replace,
}

/// The cheapest way from `shown` to `wanted` (both oldest first).
pub fn plan(shown: &VecDeque<(u64, u64)>, wanted: &[(u64, u64)]) -> Plan {
    if shown.is_empty() || wanted.is_empty() {
        return if shown.is_empty() && wanted.is_empty() { Plan::Keep } else { Plan::Replace };
    }
    // The first wanted line must be a shown one, and every shown line after
    // it must be wanted in the same order; the rest of wanted is new.
    let Some(start) = shown.iter().position(|l| *l == wanted[0]) else {
        return Plan::Replace;
    };
    let kept = shown.len() - start;
    if kept > wanted.len() || !shown.iter().skip(start).zip(wanted).all(|(a, b)| a == b) {
        return Plan::Replace;
    }
    if start == 0 && kept == wanted.len() {
        return Plan::Keep;
    }
    // Removing more than half the lines one by one costs more than one parse.
    if start > shown.len() / 2 {
        return Plan::Replace;
    }
    Plan::Shift { remove: start, from: kept }
}

/// Append `s` with `<`, `>`, `&`, `"` escaped.
fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

/// One `<li>` as the Yew view wrote it: time, then the text, a button
/// for a PubAck (it opens the causal trace).
pub fn line_html(out: &mut String, e: &LogEntry) {
    out.push_str("<li class=\"");
    escape_into(out, e.class);
    out.push_str("\"><span class=\"t\">");
    escape_into(out, &fmt_time(e.at));
    out.push_str("</span> ");
    if e.class == "ack" {
        let _ = write!(
            out,
            "<button type=\"button\" class=\"what ack-link\" data-seq=\"{}\" title=\"Show this PubAck's causal trace\">",
            e.seq
        );
        escape_into(out, &e.text);
        out.push_str("</button>");
    } else {
        out.push_str("<span class=\"what\">");
        escape_into(out, &e.text);
        out.push_str("</span>");
    }
    out.push_str("</li>");
}

impl LogDom {
    /// Bring `ol`'s lines up to date with `log`.
    pub fn sync(&mut self, ol: &web_sys::Element, log: &VecDeque<LogEntry>) {
        if self.ol.as_ref() != Some(ol) {
            // A new <ol> (first render, or Yew re-created it): Yew made it empty.
            self.ol = Some(ol.clone());
            self.lines.clear();
            ol.set_inner_html("");
        }
        let wanted: Vec<(u64, u64)> = log.iter().map(line_id).collect();
        let (from, remove) = match plan(&self.lines, &wanted) {
            Plan::Keep => return,
            Plan::Replace => (0, None),
            Plan::Shift { remove, from } => (from, Some(remove)),
        };
        let mut html = String::with_capacity((log.len() - from) * 96);
        for e in log.iter().skip(from) {
            line_html(&mut html, e);
        }
        match remove {
            None => {
                ol.set_inner_html(&html);
                self.lines = wanted.into();
            }
            Some(remove) => {
                for _ in 0..remove {
                    if let Some(first) = ol.first_element_child() {
                        first.remove();
                    }
                }
                self.lines.drain(..remove);
                if !html.is_empty() {
                    let _ = ol.insert_adjacent_html("beforeend", &html);
                }
                self.lines.extend(&wanted[from..]);
            }
        }
    }
}

/// The PubAck seq of a click inside the log, if it was on a PubAck's button.
pub fn ack_seq(target: Option<web_sys::EventTarget>) -> Option<u64> {
    use wasm_bindgen::JsCast;
    let el: web_sys::Element = target?.dyn_into().ok()?;
    let button = el.closest("button.ack-link").ok()??;
    button.get_attribute("data-seq")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(v: &[(u64, u64)]) -> VecDeque<(u64, u64)> {
        v.iter().copied().collect()
    }

    #[test]
    fn plan_appends_and_drops() {
        let shown = q(&[(1, 1), (2, 2), (3, 3), (4, 4)]);
        assert_eq!(plan(&shown, &[(1, 1), (2, 2), (3, 3), (4, 4)]), Plan::Keep);
        assert_eq!(plan(&shown, &[(1, 1), (2, 2), (3, 3), (4, 4), (5, 5)]), Plan::Shift { remove: 0, from: 4 });
        assert_eq!(plan(&shown, &[(2, 2), (3, 3), (4, 4), (5, 5)]), Plan::Shift { remove: 1, from: 3 });
        // Most lines gone: one parse.
        assert_eq!(plan(&shown, &[(4, 4), (5, 5)]), Plan::Replace);
        assert_eq!(plan(&shown, &[(9, 9)]), Plan::Replace);
        // Same seqs, other content (another seed): replaced.
        assert_eq!(plan(&shown, &[(1, 1), (2, 7), (3, 3), (4, 4)]), Plan::Replace);
        // Time travel back: fewer lines at the end.
        assert_eq!(plan(&shown, &[(1, 1), (2, 2)]), Plan::Replace);
        assert_eq!(plan(&q(&[]), &[]), Plan::Keep);
        assert_eq!(plan(&shown, &[]), Plan::Replace);
    }

    #[test]
    fn lines_are_escaped_like_the_view() {
        let mut s = String::new();
        let e = LogEntry { seq: 7, at: 1_500_000, text: "a<b>&\"c\"".into(), class: "ack" };
        line_html(&mut s, &e);
        assert!(s.contains("data-seq=\"7\""), "{s}");
        assert!(s.contains(">a&lt;b&gt;&amp;&quot;c&quot;</button>"), "{s}");
        assert!(!s.contains("<b>"), "{s}");
        let mut s = String::new();
        line_html(&mut s, &LogEntry { seq: 8, at: 0, text: "x".into(), class: "recv" });
        assert!(s.starts_with("<li class=\"recv\"><span class=\"t\">"), "{s}");
        assert!(s.ends_with("<span class=\"what\">x</span></li>"), "{s}");
    }
}
