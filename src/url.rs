//! The playground's state in the URL fragment, so a copied link reproduces
//! the same run: the scenario (an example's name, or its whole text
//! compressed and base64url-encoded), the seed, the moment in time and the
//! input log (see `playground::session`).
//!
//! ```text
//! #v=1&ex=core-pubsub&seed=7&n=1234&t=400000000&in=12.100000000.a2lsbCBuMg
//! #v=1&text=<base64url(lz(text))>&seed=7&t=0&speed=1/10
//! ```
//!
//! `speed` (optional: the page's default when absent) is the speed control's
//! setting as a fraction of real time, `1/500` or `10`: one of
//! [`SPEEDS`](crate::playground::speed::SPEEDS).
//! `n` is events processed and `t` the clock in ns (the moment); `in` is
//! `~`-separated inputs, each `events.time.base64url(line)`. A fragment is
//! untrusted: [`decode`] never panics, bounds every size and count, and
//! names the field that is wrong. Pure Rust: unit-tested natively.

use crate::playground::session::{Input, Moment, MAX_INPUTS, MAX_INPUT_LINE};

/// Longest fragment read, in bytes.
pub const MAX_FRAGMENT: usize = 200_000;
/// Longest scenario text a link may carry (the scenario parser's own limit).
pub const MAX_TEXT: usize = 256 * 1024;
/// The format version written.
pub const VERSION: &str = "1";

/// Where the scenario comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// One of the embedded examples, by id.
    Example(String),
    /// The scenario's full text.
    Text(String),
}

/// Everything a link holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shared {
    pub source: Source,
    /// None: the scenario's own seed.
    pub seed: Option<u64>,
    pub at: Moment,
    pub inputs: Vec<Input>,
    /// The speed control's setting, an entry of `speed::SPEEDS`; None: the
    /// default.
    pub speed: Option<(u32, u32)>,
}

/// The fragment for `s`, without the leading `#`.
pub fn encode(s: &Shared) -> String {
    let mut out = format!("v={VERSION}");
    match &s.source {
        Source::Example(id) => {
            out.push_str("&ex=");
            out.push_str(&b64_encode(id.as_bytes()));
        }
        Source::Text(t) => {
            out.push_str("&text=");
            out.push_str(&b64_encode(&lz_compress(t.as_bytes())));
        }
    }
    if let Some(seed) = s.seed {
        out.push_str(&format!("&seed={seed}"));
    }
    out.push_str(&format!("&n={}&t={}", s.at.events, s.at.at));
    if !s.inputs.is_empty() {
        out.push_str("&in=");
        let parts: Vec<String> =
            s.inputs.iter().map(|i| format!("{}.{}.{}", i.at.events, i.at.at, b64_encode(i.line.as_bytes()))).collect();
        out.push_str(&parts.join("~"));
    }
    if let Some((n, d)) = s.speed {
        out.push_str("&speed=");
        out.push_str(&crate::playground::speed::fraction(n, d));
    }
    out
}

/// Read a fragment (with or without its `#`). `Ok(None)` when it is not
/// one of ours (empty, or a plain anchor such as `#main`).
pub fn decode(fragment: &str) -> Result<Option<Shared>, String> {
    let f = fragment.strip_prefix('#').unwrap_or(fragment);
    if f.is_empty() || !f.contains('=') {
        return Ok(None);
    }
    if f.len() > MAX_FRAGMENT {
        return Err(format!("the link's state is {} bytes, more than the {MAX_FRAGMENT} allowed", f.len()));
    }
    let (mut v, mut ex, mut text, mut seed, mut n, mut t, mut inputs, mut speed) =
        (None, None, None, None, None, None, None, None);
    for part in f.split('&') {
        let Some((key, value)) = part.split_once('=') else {
            return Err(format!("\"{}\" is not key=value", clip(part)));
        };
        let slot = match key {
            "v" => &mut v,
            "ex" => &mut ex,
            "text" => &mut text,
            "seed" => &mut seed,
            "n" => &mut n,
            "t" => &mut t,
            "in" => &mut inputs,
            "speed" => &mut speed,
            other => {
                return Err(format!("unknown field \"{}\" (fields: v, ex, text, seed, n, t, in, speed)", clip(other)))
            }
        };
        if slot.replace(value).is_some() {
            return Err(format!("field \"{key}\" is given twice"));
        }
    }
    match v {
        Some(VERSION) => {}
        Some(other) => return Err(format!("v: version \"{}\" is not known (this page reads {VERSION})", clip(other))),
        None => return Err("v: the format version is missing".into()),
    }
    let source = match (ex, text) {
        (Some(_), Some(_)) => return Err("ex and text: give one scenario, not both".into()),
        (None, None) => return Err("ex or text: the scenario is missing".into()),
        (Some(e), None) => {
            let bytes = b64_decode(e, 200).map_err(|m| format!("ex: {m}"))?;
            Source::Example(String::from_utf8(bytes).map_err(|_| "ex: not UTF-8".to_string())?)
        }
        (None, Some(z)) => {
            let packed = b64_decode(z, MAX_FRAGMENT).map_err(|m| format!("text: {m}"))?;
            let bytes = lz_decompress(&packed, MAX_TEXT).map_err(|m| format!("text: {m}"))?;
            Source::Text(String::from_utf8(bytes).map_err(|_| "text: the scenario is not UTF-8".to_string())?)
        }
    };
    let seed = seed.map(|s| number("seed", s)).transpose()?;
    let at = Moment {
        events: n.map(|s| number("n", s)).transpose()?.unwrap_or(u64::MAX),
        at: t.map(|s| number("t", s)).transpose()?.unwrap_or(0),
    };
    let inputs = match inputs {
        None | Some("") => Vec::new(),
        Some(list) => {
            let mut out = Vec::new();
            for (i, item) in list.split('~').enumerate() {
                let k = i + 1;
                if k > MAX_INPUTS {
                    return Err(format!("in: more than {MAX_INPUTS} inputs"));
                }
                let mut p = item.splitn(3, '.');
                let (Some(e), Some(tt), Some(line)) = (p.next(), p.next(), p.next()) else {
                    return Err(format!("in: input {k} is not events.time.line"));
                };
                let events = number(&format!("in: input {k}'s events"), e)?;
                let at = number(&format!("in: input {k}'s time"), tt)?;
                let bytes = b64_decode(line, MAX_INPUT_LINE).map_err(|m| format!("in: input {k}'s line: {m}"))?;
                let line = String::from_utf8(bytes).map_err(|_| format!("in: input {k}'s line is not UTF-8"))?;
                out.push(Input { at: Moment { events, at }, line });
            }
            out
        }
    };
    let speed = match speed {
        None => None,
        Some(sp) => {
            let (num, den) = sp.split_once('/').unwrap_or((sp, "1"));
            let pair = (number("speed", num)?, number("speed", den)?);
            // One of the control's speeds, written as `encode` writes it
            // (`10`, not `10/1` or `010`).
            let known = crate::playground::speed::SPEEDS.iter().find(|&&(a, b)| {
                (u64::from(a), u64::from(b)) == pair && crate::playground::speed::fraction(a, b) == sp
            });
            Some(*known.ok_or_else(|| {
                format!("speed: \"{}\" is not a speed of the control (1/10000 to 10, as 1/500 or 10)", clip(sp))
            })?)
        }
    };
    Ok(Some(Shared { source, seed, at, inputs, speed }))
}

fn clip(s: &str) -> String {
    crate::text::display_max(s, 40)
}

fn number(what: &str, s: &str) -> Result<u64, String> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{what}: \"{}\" is not a whole number", clip(s)));
    }
    s.parse::<u64>().map_err(|_| format!("{what}: {s} is larger than {}", u64::MAX))
}

// ------------------------------------------------------------------ base64url

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url without padding.
pub fn b64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Decode base64url (no padding), refusing output longer than `max`.
pub fn b64_decode(s: &str, max: usize) -> Result<Vec<u8>, String> {
    if s.len() / 4 * 3 > max.saturating_add(3) {
        return Err(format!("longer than {max} bytes"));
    }
    if s.len() % 4 == 1 {
        return Err("base64url of impossible length".into());
    }
    let mut out = Vec::with_capacity(s.len() / 4 * 3 + 2);
    let (mut acc, mut bits) = (0u32, 0u32);
    for (i, c) in s.bytes().enumerate() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return Err(format!("character {} is not base64url", i + 1)),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if out.len() > max {
        return Err(format!("longer than {max} bytes"));
    }
    Ok(out)
}

// ------------------------------------------------------------------ LZ

/// A small LZ77 for scenario text (which repeats itself: `server`, `client`,
/// `nats pub`…). Stream of tokens: a byte `0..=127` is `b+1` literal bytes
/// that follow; `128..=255` is a match of length `(b-128)+MIN_MATCH`, then
/// its distance back as a LEB128 varint (1..=WINDOW).
const MIN_MATCH: usize = 3;
const MAX_MATCH: usize = 127 + MIN_MATCH;
const WINDOW: usize = 1 << 16;
const HASH_BITS: u32 = 13;
const CHAIN: usize = 48;

fn hash3(d: &[u8]) -> usize {
    let v = u32::from(d[0]) | (u32::from(d[1]) << 8) | (u32::from(d[2]) << 16);
    (v.wrapping_mul(2_654_435_761) >> (32 - HASH_BITS)) as usize
}

pub fn lz_compress(data: &[u8]) -> Vec<u8> {
    const NONE: usize = usize::MAX;
    let mut head = vec![NONE; 1 << HASH_BITS];
    let mut prev = vec![NONE; data.len()];
    let mut out = Vec::with_capacity(data.len() / 2 + 8);
    let mut lits: Vec<u8> = Vec::new();
    let flush = |out: &mut Vec<u8>, lits: &mut Vec<u8>| {
        for run in lits.chunks(128) {
            out.push((run.len() - 1) as u8);
            out.extend_from_slice(run);
        }
        lits.clear();
    };
    let insert = |head: &mut Vec<usize>, prev: &mut Vec<usize>, i: usize| {
        if i + MIN_MATCH <= data.len() {
            let h = hash3(&data[i..]);
            prev[i] = head[h];
            head[h] = i;
        }
    };
    let mut i = 0;
    while i < data.len() {
        let (mut best_len, mut best_dist) = (0, 0);
        if i + MIN_MATCH <= data.len() {
            let mut cand = head[hash3(&data[i..])];
            let mut tries = 0;
            while cand != NONE && i - cand <= WINDOW && tries < CHAIN {
                let max = MAX_MATCH.min(data.len() - i);
                let len = (0..max).take_while(|&k| data[cand + k] == data[i + k]).count();
                if len > best_len {
                    best_len = len;
                    best_dist = i - cand;
                    if len == max {
                        break;
                    }
                }
                cand = prev[cand];
                tries += 1;
            }
        }
        if best_len >= MIN_MATCH {
            flush(&mut out, &mut lits);
            out.push((128 + best_len - MIN_MATCH) as u8);
            let mut d = best_dist;
            loop {
                let b = (d & 0x7f) as u8;
                d >>= 7;
                if d == 0 {
                    out.push(b);
                    break;
                }
                out.push(b | 0x80);
            }
            for k in i..i + best_len {
                insert(&mut head, &mut prev, k);
            }
            i += best_len;
        } else {
            lits.push(data[i]);
            insert(&mut head, &mut prev, i);
            i += 1;
        }
    }
    flush(&mut out, &mut lits);
    out
}

/// Inverse of [`lz_compress`]; refuses output longer than `max` and any
/// malformed stream (never panics).
pub fn lz_decompress(data: &[u8], max: usize) -> Result<Vec<u8>, String> {
    let mut out: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let b = data[i];
        i += 1;
        if b < 128 {
            let n = usize::from(b) + 1;
            let lit = data.get(i..i + n).ok_or("the compressed text is cut short")?;
            if out.len() + n > max {
                return Err(format!("longer than {max} bytes"));
            }
            out.extend_from_slice(lit);
            i += n;
        } else {
            let len = usize::from(b - 128) + MIN_MATCH;
            let mut dist = 0usize;
            let mut shift = 0;
            loop {
                let &v = data.get(i).ok_or("the compressed text is cut short")?;
                i += 1;
                if shift > 14 {
                    return Err("a distance in the compressed text is too large".into());
                }
                dist |= usize::from(v & 0x7f) << shift;
                shift += 7;
                if v & 0x80 == 0 {
                    break;
                }
            }
            if dist == 0 || dist > out.len() || dist > WINDOW {
                return Err("the compressed text refers outside itself".into());
            }
            if out.len() + len > max {
                return Err(format!("longer than {max} bytes"));
            }
            let from = out.len() - dist;
            for k in 0..len {
                out.push(out[from + k]);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples::EXAMPLES;

    fn sample() -> Shared {
        Shared {
            source: Source::Example("core-pubsub".into()),
            seed: Some(7),
            at: Moment { events: 1234, at: 400_000_000 },
            inputs: vec![
                Input { at: Moment { events: 12, at: 100_000_000 }, line: "kill n2".into() },
                Input { at: Moment { events: 12, at: 100_000_000 }, line: "pub: nats pub a.b \"hi ~&=#.\"".into() },
            ],
            speed: Some((1, 10)),
        }
    }

    #[test]
    fn round_trips() {
        let s = sample();
        let f = encode(&s);
        assert!(f.starts_with("v=1&ex=") && f.contains("&seed=7&n=1234&t=400000000&in=12.100000000."), "{f}");
        assert!(f.ends_with("&speed=1/10"), "{f}");
        assert_eq!(decode(&format!("#{f}")), Ok(Some(s)));
        let fast = Shared { speed: Some((10, 1)), ..sample() };
        assert!(encode(&fast).ends_with("&speed=10"));
        assert_eq!(decode(&encode(&fast)), Ok(Some(fast)));
        for e in EXAMPLES {
            let s = Shared {
                source: Source::Text(e.text.into()),
                seed: None,
                at: Moment::START,
                inputs: vec![],
                speed: None,
            };
            assert_eq!(decode(&encode(&s)), Ok(Some(s)), "{}", e.id);
        }
    }

    #[test]
    fn scenario_text_is_compressed() {
        let (mut plain, mut packed) = (0, 0);
        for e in EXAMPLES {
            let z = lz_compress(e.text.as_bytes());
            eprintln!("{}: {} → {} bytes", e.id, e.text.len(), z.len());
            assert!(z.len() < e.text.len(), "{}: {} → {}", e.id, e.text.len(), z.len());
            assert_eq!(lz_decompress(&z, MAX_TEXT).as_deref(), Ok(e.text.as_bytes()));
            (plain, packed) = (plain + e.text.len(), packed + z.len());
        }
        // Prose (names, descriptions, notes) compresses less than topology.
        assert!(packed * 10 < plain * 8, "{plain} → {packed}");
        let long = "server n1 az=a\n".repeat(2_000);
        let z = lz_compress(long.as_bytes());
        assert!(z.len() < 800, "{}", z.len());
        assert_eq!(lz_decompress(&z, MAX_TEXT), Ok(long.into_bytes()));
        assert_eq!(lz_decompress(&lz_compress(b""), 10), Ok(vec![]));
    }

    #[test]
    fn base64url_round_trips_every_length() {
        let data: Vec<u8> = (0..=255u8).collect();
        for n in 0..40 {
            let e = b64_encode(&data[..n]);
            assert!(e.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
            assert_eq!(b64_decode(&e, 1000), Ok(data[..n].to_vec()));
        }
        assert!(b64_decode("abc=", 10).is_err());
        assert!(b64_decode("a", 10).is_err());
        assert!(b64_decode(&"A".repeat(100), 10).is_err());
    }

    #[test]
    fn not_ours_is_none() {
        assert_eq!(decode(""), Ok(None));
        assert_eq!(decode("#"), Ok(None));
        assert_eq!(decode("#main"), Ok(None));
        assert_eq!(decode("#jetsim-test-panic"), Ok(None));
    }

    #[test]
    fn junk_is_a_clear_error() {
        let err = |f: &str| decode(f).err().unwrap_or_default();
        assert!(err("v=1").starts_with("ex or text"));
        assert!(err("v=2&ex=YQ").starts_with("v: version \"2\""));
        assert!(err("ex=YQ").starts_with("v:"));
        assert!(err("v=1&ex=YQ&ex=YQ").contains("twice"));
        assert!(err("v=1&ex=YQ&bogus=1").contains("unknown field \"bogus\""));
        assert!(err("v=1&ex=YQ&seed=-1").starts_with("seed:"));
        assert!(err("v=1&ex=YQ&speed=3").contains("is not a speed"));
        for odd in ["10/1", "010", "1/0500", "1/1"] {
            assert!(err(&format!("v=1&ex=YQ&speed={odd}")).contains("is not a speed"), "{odd}");
        }
        assert!(decode("v=1&ex=YQ&speed=1/500").is_ok_and(|s| s.is_some_and(|s| s.speed == Some((1, 500)))));
        assert!(err("v=1&ex=YQ&speed=1/0").contains("is not a speed"));
        assert!(err("v=1&ex=YQ&speed=x/2").starts_with("speed:"));
        assert!(err("v=1&ex=YQ&speed=").starts_with("speed:"));
        assert!(err("v=1&ex=YQ&seed=99999999999999999999").contains("larger"));
        assert!(err("v=1&ex=YQ&t=1e9").starts_with("t:"));
        assert!(err("v=1&ex=Y*").starts_with("ex: character 2"));
        assert!(err("v=1&text=_____w").starts_with("text:"));
        assert!(err("v=1&ex=YQ&in=1.2").contains("input 1 is not events.time.line"));
        assert!(err("v=1&ex=YQ&in=1.2.YQ~x.2.YQ").starts_with("in: input 2's events"));
        assert!(err(&format!("v=1&ex=YQ&{}", "x".repeat(MAX_FRAGMENT))).contains("more than"));
        let many = vec!["0.0.YQ"; MAX_INPUTS + 1].join("~");
        assert!(err(&format!("v=1&ex=YQ&in={many}")).contains("more than"));
    }

    #[test]
    fn decompression_is_bounded_and_never_panics() {
        // A bomb: one literal, then matches of 130 bytes each.
        let mut bomb = vec![0u8, b'x'];
        for _ in 0..1_000 {
            bomb.extend_from_slice(&[255, 1]);
        }
        assert!(lz_decompress(&bomb, MAX_TEXT).is_ok());
        assert!(lz_decompress(&bomb, 1_000).unwrap_err().contains("longer"));
        // Every byte string up to length 3, and some noise: errors, no panic.
        let mut x: u32 = 12345;
        for len in 0..64 {
            for _ in 0..200 {
                let junk: Vec<u8> = (0..len)
                    .map(|_| {
                        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                        (x >> 16) as u8
                    })
                    .collect();
                let _ = lz_decompress(&junk, 4096);
                let s: String = junk.iter().map(|&b| (b % 96 + 32) as char).collect();
                let _ = decode(&format!("v=1&text={s}&in={s}"));
            }
        }
        assert!(lz_decompress(&[128, 5], 100).unwrap_err().contains("outside"));
        assert!(lz_decompress(&[5, b'a'], 100).unwrap_err().contains("cut short"));
    }
}
