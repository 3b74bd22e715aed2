//! Virtual time. The simulation never reads a wall clock: time is an integer
//! count of nanoseconds since the start of the run (nats-server expresses every
//! duration in nanoseconds too, so API values map one to one).

/// A point in virtual time, in nanoseconds since the run began.
pub type Time = u64;
/// A span of virtual time, in nanoseconds.
pub type Dur = u64;

pub const NS: Dur = 1;
pub const US: Dur = 1_000;
pub const MS: Dur = 1_000_000;
pub const SEC: Dur = 1_000_000_000;
pub const MIN: Dur = 60 * SEC;
pub const HOUR: Dur = 60 * MIN;

/// Parse a duration such as `250ms`, `1.5s`, `2m`, `100us`, `10ns`, `1h`, or a
/// bare integer of nanoseconds. Returns a human-readable error.
pub fn parse_duration(s: &str) -> Result<Dur, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    if num.is_empty() {
        return Err(format!("duration {s:?} has no number"));
    }
    let mult: Dur = match unit {
        "" | "ns" => NS,
        "us" | "µs" => US,
        "ms" => MS,
        "s" => SEC,
        "m" => MIN,
        "h" => HOUR,
        _ => return Err(format!("duration {s:?} has unknown unit {unit:?} (use ns, us, ms, s, m or h)")),
    };
    // Integer and one optional fractional part, computed without floats so the
    // result is exact and identical on every platform.
    let (int_part, frac_part) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    if frac_part.contains('.') {
        return Err(format!("duration {s:?} is not a number"));
    }
    let int: u64 =
        if int_part.is_empty() { 0 } else { int_part.parse().map_err(|_| format!("duration {s:?} is too large"))? };
    let mut total = int.checked_mul(mult).ok_or_else(|| format!("duration {s:?} is too large"))?;
    let mut scale = mult;
    for d in frac_part.chars().take(9) {
        scale /= 10;
        total = total
            .checked_add(u64::from(d.to_digit(10).unwrap_or(0)) * scale)
            .ok_or_else(|| format!("duration {s:?} is too large"))?;
    }
    Ok(total)
}

/// Format a duration compactly for logs: `0s`, `1.5ms`, `2.000345s`.
pub fn fmt_duration(d: Dur) -> String {
    if d == 0 {
        return "0s".into();
    }
    let (unit, div) = if d >= SEC {
        ("s", SEC)
    } else if d >= MS {
        ("ms", MS)
    } else if d >= US {
        ("us", US)
    } else {
        ("ns", NS)
    };
    let whole = d / div;
    let frac = d % div;
    if frac == 0 {
        return format!("{whole}{unit}");
    }
    let width = match div {
        SEC => 9,
        MS => 6,
        US => 3,
        _ => 0,
    };
    let mut f = format!("{frac:0width$}");
    while f.ends_with('0') {
        f.pop();
    }
    format!("{whole}.{f}{unit}")
}

/// Format a point in time as seconds with millisecond precision: `12.345s`.
pub fn fmt_time(t: Time) -> String {
    format!("{}.{:06}s", t / SEC, (t % SEC) / 1_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_fractions() {
        assert_eq!(parse_duration("250ms").unwrap(), 250 * MS);
        assert_eq!(parse_duration("1.5s").unwrap(), 1500 * MS);
        assert_eq!(parse_duration("2m").unwrap(), 120 * SEC);
        assert_eq!(parse_duration("100us").unwrap(), 100 * US);
        assert_eq!(parse_duration("42").unwrap(), 42);
        assert_eq!(parse_duration("0.001s").unwrap(), MS);
        assert!(parse_duration("1x").is_err());
        assert!(parse_duration("ms").is_err());
        assert!(parse_duration("1.2.3s").is_err());
        assert!(parse_duration("99999999999999999999s").is_err());
    }

    #[test]
    fn formats_round_trip() {
        for d in [1, 999, MS, 1500 * MS, 3 * SEC, 1234 * US] {
            assert_eq!(parse_duration(&fmt_duration(d)).unwrap(), d, "{}", fmt_duration(d));
        }
    }
}
