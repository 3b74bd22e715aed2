//! The speed control: how much virtual time passes per second of wall time,
//! on a log scale from 1/10000× (100 µs per second: one frame hop of a 1 ms
//! link takes ten seconds) to 10×.

use jetsim_core::time::{fmt_duration, SEC};

/// Speeds as fractions `num/den` of real time, slowest first.
pub const SPEEDS: &[(u32, u32)] = &[
    (1, 10_000),
    (1, 5_000),
    (1, 2_000),
    (1, 1_000),
    (1, 500),
    (1, 200),
    (1, 100),
    (1, 50),
    (1, 20),
    (1, 10),
    (1, 5),
    (1, 2),
    (1, 1),
    (2, 1),
    (5, 1),
    (10, 1),
];

/// 1/500×: 2 ms of virtual time per second, so a frame crossing a 1 ms link
/// is on screen for half a second.
pub const DEFAULT: usize = 4;

fn get(i: usize) -> (u32, u32) {
    SPEEDS.get(i).copied().unwrap_or((1, 500))
}

/// Virtual nanoseconds per wall nanosecond.
pub fn factor(i: usize) -> f64 {
    let (n, d) = get(i);
    f64::from(n) / f64::from(d)
}

/// `1/500×`, `1×`, `10×`.
pub fn label(i: usize) -> String {
    let (n, d) = get(i);
    format!("{}×", fraction(n, d))
}

/// A speed `n/d` as written in the label and in links: `1/500`, `10`.
pub fn fraction(n: u32, d: u32) -> String {
    if d == 1 {
        n.to_string()
    } else {
        format!("{n}/{d}")
    }
}

/// `2ms of virtual time per second`.
pub fn per_second(i: usize) -> String {
    let (n, d) = get(i);
    format!("{} of virtual time per second", fmt_duration(SEC * u64::from(n) / u64::from(d)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_shows_a_1ms_hop_for_half_a_second() {
        let wall_seconds_per_ms_hop = 1e-3 / factor(DEFAULT);
        assert!((wall_seconds_per_ms_hop - 0.5).abs() < 1e-9);
        assert_eq!(label(DEFAULT), "1/500×");
        assert_eq!(per_second(DEFAULT), "2ms of virtual time per second");
        assert_eq!(label(SPEEDS.len() - 1), "10×");
    }

    #[test]
    fn speeds_increase() {
        for i in 1..SPEEDS.len() {
            assert!(factor(i) > factor(i - 1));
        }
        assert_eq!(factor(99), factor(DEFAULT), "out of range falls back to the default");
    }
}
