//! Untrusted text on the page. Scenario names, subjects, notes and server
//! error texts come from scenario text anyone can paste or link; Yew renders
//! them as text nodes (never as HTML), and [`display`] also neutralises what
//! a text node still lets through: control characters and bidirectional
//! overrides (which can make a log line read differently from what it says),
//! and unbounded length.

/// Longest text shown in one place, in characters (the rest becomes `…`).
pub const MAX_CHARS: usize = 400;

/// Is `c` a bidirectional formatting character (embedding, override, isolate, mark)?
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `s` made safe to show as one line: control and bidi characters become
/// `\u{..}` escapes, and anything past `max` characters becomes `…`.
pub fn display_max(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max * 4));
    for (n, c) in s.chars().enumerate() {
        if n >= max {
            out.push('…');
            break;
        }
        if c.is_control() || is_bidi_control(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// [`display_max`] with [`MAX_CHARS`].
pub fn display(s: &str) -> String {
    display_max(s, MAX_CHARS)
}

/// A short form of a name for a small label (`order-service` → `order-ser…`).
pub fn short(s: &str, max: usize) -> String {
    display_max(s, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_bidi() {
        assert_eq!(display("a\u{202E}b\nc\u{7}"), "a\\u{202e}b\\u{a}c\\u{7}");
        assert_eq!(display("<script>"), "<script>", "HTML is left as text (Yew escapes it)");
    }

    #[test]
    fn caps_length() {
        assert_eq!(display_max("abcdef", 3), "abc…");
        assert_eq!(display_max("abc", 3), "abc");
        assert_eq!(display(&"x".repeat(10_000)).chars().count(), MAX_CHARS + 1);
    }
}
