//! Links between endpoints, modelled like the TCP connections nats-server uses
//! (routes between servers, client connections): each direction is FIFO, has
//! its own latency model, and can be cut. Jitter never reorders a direction: a
//! frame never arrives before the one sent before it on the same direction.
//! Cutting a direction drops what is in flight on it (each frame carries the
//! direction's epoch at send time; a cut bumps the epoch).

use crate::rng::Rng;
use crate::scenario::LatencySpec;
use crate::time::{Dur, Time};

/// A latency model for one direction of a link.
#[derive(Clone, Debug, PartialEq)]
pub enum Latency {
    Fixed(Dur),
    Uniform {
        lo: Dur,
        hi: Dur,
    },
    /// Long-tailed: `min / U^(1/alpha)`, capped.
    Pareto {
        min: Dur,
        alpha_milli: u32,
        cap: Dur,
    },
}

impl Latency {
    pub fn from_spec(spec: &LatencySpec) -> Latency {
        match *spec {
            LatencySpec::Fixed(d) => Latency::Fixed(d),
            LatencySpec::Uniform(a, b) => Latency::Uniform { lo: a.min(b), hi: a.max(b) },
            LatencySpec::Pareto { min, alpha_milli, cap } => {
                Latency::Pareto { min, alpha_milli: alpha_milli.max(1), cap: cap.max(min) }
            }
        }
    }

    /// Sample one delay. Uses the PRNG only for models that need it, so a
    /// fixed-latency run draws no random numbers for its links.
    pub fn sample(&self, rng: &mut Rng) -> Dur {
        match *self {
            Latency::Fixed(d) => d,
            Latency::Uniform { lo, hi } => rng.range_inclusive(lo, hi),
            Latency::Pareto { min, alpha_milli, cap } => {
                // u in (0, 1]; libm keeps pow identical natively and in wasm.
                let u = 1.0 - rng.unit_f64();
                let alpha = f64::from(alpha_milli) / 1000.0;
                let factor = libm::pow(u, -1.0 / alpha);
                let d = (min as f64) * factor;
                if !(d.is_finite()) || d >= cap as f64 {
                    cap
                } else {
                    d as Dur
                }
            }
        }
    }

    /// The median delay, used for labels ("~5ms").
    pub fn typical(&self) -> Dur {
        match *self {
            Latency::Fixed(d) => d,
            Latency::Uniform { lo, hi } => lo + (hi - lo) / 2,
            Latency::Pareto { min, alpha_milli, cap } => {
                // median = min * 2^(1/alpha)
                let alpha = f64::from(alpha_milli.max(1)) / 1000.0;
                let m = (min as f64) * libm::pow(2.0, 1.0 / alpha);
                if m.is_finite() && m < cap as f64 {
                    m as Dur
                } else {
                    cap
                }
            }
        }
    }

    pub fn describe(&self) -> String {
        use crate::time::fmt_duration as f;
        match *self {
            Latency::Fixed(d) => f(d),
            Latency::Uniform { lo, hi } => format!("{}–{}", f(lo), f(hi)),
            Latency::Pareto { min, alpha_milli, cap } => {
                format!("pareto(min {}, α {}.{:03}, cap {})", f(min), alpha_milli / 1000, alpha_milli % 1000, f(cap))
            }
        }
    }
}

/// One direction of a link.
#[derive(Clone, Debug)]
pub struct Direction {
    pub latency: Latency,
    /// Arrival time of the last frame sent on this direction (FIFO floor).
    pub last_arrival: Time,
    /// Bumped when the direction is cut; frames carry the epoch they were sent in.
    pub epoch: u32,
    pub cut: bool,
    pub frames_sent: u64,
    pub frames_dropped: u64,
}

impl Direction {
    pub fn new(latency: Latency) -> Direction {
        Direction { latency, last_arrival: 0, epoch: 0, cut: false, frames_sent: 0, frames_dropped: 0 }
    }

    /// When would a frame sent now arrive? FIFO: never before the previous one.
    pub fn schedule(&mut self, now: Time, rng: &mut Rng) -> Time {
        let at = now.saturating_add(self.latency.sample(rng)).max(self.last_arrival);
        self.last_arrival = at;
        self.frames_sent += 1;
        at
    }

    /// Cut this direction: whatever is in flight is dropped on arrival.
    pub fn cut(&mut self) {
        if !self.cut {
            self.cut = true;
        }
        self.epoch = self.epoch.wrapping_add(1);
    }

    pub fn heal(&mut self) {
        self.cut = false;
    }

    /// Drop everything in flight without cutting (a connection reset).
    pub fn reset(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
    }
}

/// A dense table of directions between `n` endpoints, indexed `from * n + to`.
#[derive(Clone, Debug)]
pub struct LinkTable {
    n: u32,
    dirs: Vec<Direction>,
}

impl LinkTable {
    pub fn new(n: u32, default: Latency) -> LinkTable {
        let len = (n as usize) * (n as usize);
        LinkTable { n, dirs: vec![Direction::new(default); len] }
    }

    pub fn len_endpoints(&self) -> u32 {
        self.n
    }

    pub fn dir(&self, from: u32, to: u32) -> &Direction {
        &self.dirs[(from * self.n + to) as usize]
    }

    pub fn dir_mut(&mut self, from: u32, to: u32) -> &mut Direction {
        &mut self.dirs[(from * self.n + to) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::MS;

    #[test]
    fn jitter_never_reorders_a_direction() {
        let mut rng = Rng::new(1);
        let mut d = Direction::new(Latency::Uniform { lo: MS, hi: 50 * MS });
        let mut last = 0;
        for i in 0..10_000u64 {
            let at = d.schedule(i * 100_000, &mut rng);
            assert!(at >= last, "frame {i} arrives at {at} before {last}");
            assert!(at >= i * 100_000 + MS);
            last = at;
        }
    }

    #[test]
    fn pareto_is_long_tailed_and_capped() {
        let mut rng = Rng::new(9);
        let l = Latency::Pareto { min: 10 * MS, alpha_milli: 1500, cap: 500 * MS };
        let mut samples: Vec<Dur> = (0..20_000).map(|_| l.sample(&mut rng)).collect();
        samples.sort_unstable();
        assert!(samples[0] >= 10 * MS);
        assert!(*samples.last().unwrap() <= 500 * MS);
        let p50 = samples[samples.len() / 2];
        let p99 = samples[samples.len() * 99 / 100];
        // Median of Pareto(α=1.5) = min·2^(1/1.5) ≈ 1.587·min; p99 = min·100^(1/1.5) ≈ 21.5·min.
        assert!((15 * MS..17 * MS).contains(&p50), "p50 {p50}");
        assert!(p99 > 150 * MS, "p99 {p99}");
    }

    #[test]
    fn cut_bumps_epoch() {
        let mut d = Direction::new(Latency::Fixed(MS));
        let e = d.epoch;
        d.cut();
        assert!(d.cut);
        assert_ne!(d.epoch, e);
        d.heal();
        assert!(!d.cut);
    }
}
