//! Reading JetStream publish headers from a stored header block
//! (`NATS/1.0\r\nKey: value\r\n...\r\n`) the way nats-server does
//! (`sliceHeader`, `getHeader`, `parseInt64` in server/stream.go, util.go):
//! case-sensitive keys, the first occurrence of `Key:` must start a line,
//! spaces before the value are skipped, the value runs to the next CRLF.
//! Untrusted bytes: never panics, and blocks over [`MAX_HEADER_BYTES`] are
//! refused by the publish path before any lookup.

/// nats refuses header blocks longer than a u16 (10097, "64k").
pub const MAX_HEADER_BYTES: usize = u16::MAX as usize;

pub const MSG_ID: &str = "Nats-Msg-Id";
pub const EXPECTED_STREAM: &str = "Nats-Expected-Stream";
pub const EXPECTED_LAST_SEQ: &str = "Nats-Expected-Last-Sequence";
pub const EXPECTED_LAST_SUBJ_SEQ: &str = "Nats-Expected-Last-Subject-Sequence";
pub const EXPECTED_LAST_SUBJ_SEQ_SUBJ: &str = "Nats-Expected-Last-Subject-Sequence-Subject";
pub const EXPECTED_LAST_MSG_ID: &str = "Nats-Expected-Last-Msg-Id";
pub const ROLLUP: &str = "Nats-Rollup";

/// nats `genHeader`: `extra` (header lines ending in the blank line's CRLF)
/// appended before a stored block's final CRLF, or after a fresh
/// `NATS/1.0` line when the message has no headers.
pub fn append(hdr: Option<&[u8]>, extra: &str) -> Vec<u8> {
    match hdr.filter(|h| h.len() > 2) {
        Some(h) => {
            let mut b = h[..h.len() - 2].to_vec();
            b.extend_from_slice(extra.as_bytes());
            b
        }
        None => format!("NATS/1.0\r\n{extra}").into_bytes(),
    }
}

/// nats `sliceHeader(key, hdr)`: the value of the first `key:`, or None.
/// Faithful to nats, only the first occurrence of `key:` anywhere in the
/// block is considered; if it does not start a line there is no value.
pub fn get<'a>(hdr: &'a [u8], key: &str) -> Option<&'a [u8]> {
    if hdr.is_empty() || key.is_empty() {
        return None;
    }
    let needle_len = key.len() + 1;
    let found = hdr.windows(needle_len).position(|w| &w[..key.len()] == key.as_bytes() && w[key.len()] == b':')?;
    let len = hdr.len();
    if found < 2 || found >= len - 1 || hdr[found - 1] != b'\n' || hdr[found - 2] != b'\r' {
        return None;
    }
    let mut i = found + needle_len;
    if i >= len {
        return None;
    }
    while i < len && hdr[i] == b' ' {
        i += 1;
    }
    let start = i;
    while i < len {
        if hdr[i] == b'\r' && i + 1 < len && hdr[i + 1] == b'\n' {
            break;
        }
        i += 1;
    }
    Some(&hdr[start..i])
}

/// [`get`] as text (None if absent, empty or not UTF-8).
pub fn get_str<'a>(hdr: &'a [u8], key: &str) -> Option<&'a str> {
    get(hdr, key).filter(|v| !v.is_empty()).and_then(|v| std::str::from_utf8(v).ok())
}

/// nats `parseInt64`: ASCII digits only, else -1 (also for empty input).
pub fn parse_int64(d: &[u8]) -> i64 {
    if d.is_empty() {
        return -1;
    }
    let mut n: i64 = 0;
    for &c in d {
        if !c.is_ascii_digit() {
            return -1;
        }
        n = n.wrapping_mul(10).wrapping_add((c - b'0') as i64);
    }
    n
}

/// nats `getExpectedLastSeq` and friends: present (non-empty) → the number
/// as nats reads it (`uint64(parseInt64(v))`, so junk is u64::MAX).
pub fn get_seq(hdr: &[u8], key: &str) -> Option<u64> {
    get(hdr, key).filter(|v| !v.is_empty()).map(|v| parse_int64(v) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_as_nats() {
        let h = b"NATS/1.0\r\nNats-Msg-Id:   abc\r\nNats-Expected-Last-Sequence: 12\r\n\r\n";
        assert_eq!(get(h, MSG_ID), Some(&b"abc"[..]));
        assert_eq!(get_seq(h, EXPECTED_LAST_SEQ), Some(12));
        assert_eq!(get(h, "nats-msg-id"), None, "case-sensitive");
        assert_eq!(get(h, "Msg-Id"), None, "must start a line");
        assert_eq!(get_seq(b"NATS/1.0\r\nNats-Expected-Last-Sequence: x1\r\n\r\n", EXPECTED_LAST_SEQ), Some(u64::MAX));
        assert_eq!(get(b"NATS/1.0\r\nA: 1", "A"), Some(&b"1"[..]), "no trailing CRLF");
        assert_eq!(get(b"NATS/1.0\r\nA:", "A"), None);
        assert_eq!(parse_int64(b""), -1);
    }

    /// A tiny deterministic generator for the property test (no external
    /// crates): every byte string of these shapes must parse without panic,
    /// and a well-formed header written by us must read back.
    #[test]
    fn property_no_panic_and_round_trip() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let alphabet = b"NATS/1.0\r\n :-abcXYZ0123456789";
        for _ in 0..20_000 {
            let len = (next() % 64) as usize;
            let junk: Vec<u8> = (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
            for key in ["A", "Nats-Msg-Id", "X:", "", "NATS/1.0"] {
                let _ = get(&junk, key);
                let _ = get_seq(&junk, key);
                let _ = get_str(&junk, key);
            }
            // Round trip: a value without CR/LF, behind a unique key.
            let vlen = (next() % 20) as usize;
            let value: String = (0..vlen).map(|_| (b'a' + (next() % 26) as u8) as char).collect();
            let block = format!("NATS/1.0\r\nOther: 1\r\nKey-{vlen}: {value}\r\n\r\n");
            assert_eq!(get(block.as_bytes(), &format!("Key-{vlen}")), Some(value.as_bytes()));
        }
    }
}
