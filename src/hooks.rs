//! Test hooks on `window.jetsim`, installed by [`crate::start`], so browser
//! tests can measure the kernel and compare runs with the native build:
//!
//! - `jetsim.bench(messages)` → `{messages, deliveries, events, ms, traceHash}`:
//!   runs `bench::run_fanout(messages)`, timed with `performance.now()`.
//! - `jetsim.benchR3(messages)` → `{messages, acked, events, simNs, ms, traceHash}`:
//!   runs `bench::run_r3(messages)` (R3 stream, every publish acknowledged
//!   through the full Raft path), timed the same way.
//! - `jetsim.traceHash(scenarioText, seed?, untilNs?)` → 16 hex digits: runs
//!   the scenario headlessly to `untilNs`, else its `until`, else 60 s (the
//!   rule of the native `jetsim run`), with `seed` else the scenario's seed
//!   else 1. Seeds and times may be numbers (whole, up to 2^53), BigInts or
//!   decimal strings.
//!
//! Both throw an `Error` with a one-line message on bad input; neither panics.

use jetsim_core::scenario::{self, Limits};
use jetsim_core::sim::{run_headless, DEFAULT_UNTIL};
use jetsim_core::time::{fmt_time, Time};

/// Events after which a headless run gives up (as `jetsim run`).
pub const MAX_EVENTS: u64 = 200_000_000;

/// The trace hash of a headless run, as 16 hex digits: the core's
/// [`run_headless`], as `jetsim run` and `jetsim hashes` use it.
pub fn trace_hash(text: &str, seed: Option<u64>, until: Option<Time>) -> Result<String, String> {
    let sc = scenario::parse(text).map_err(|e| e.to_string())?;
    let limit = Limits::default().max_duration;
    let run_to = until.or(sc.until).unwrap_or(DEFAULT_UNTIL);
    if run_to > limit {
        return Err(format!("until {} is beyond the limit of {}", fmt_time(run_to), fmt_time(limit)));
    }
    let seed = seed.or(sc.seed).unwrap_or(1);
    let world = run_headless(text, seed, until, MAX_EVENTS)?;
    Ok(format!("{:016x}", world.trace.hash()))
}

#[cfg(target_arch = "wasm32")]
mod js {
    use js_sys::{Object, Reflect};
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;

    fn err(msg: impl AsRef<str>) -> JsValue {
        js_sys::Error::new(msg.as_ref()).into()
    }

    /// A whole number from a JS number, BigInt or decimal string; None for
    /// undefined or null.
    fn whole(v: &JsValue, what: &str) -> Result<Option<u64>, JsValue> {
        if v.is_undefined() || v.is_null() {
            return Ok(None);
        }
        if let Some(f) = v.as_f64() {
            const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
            if f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f <= MAX_SAFE {
                return Ok(Some(f as u64));
            }
            return Err(err(format!(
                "{what} must be a whole number from 0 to 2^53-1 (use a BigInt or a string for larger ones)"
            )));
        }
        let text = if v.is_bigint() {
            v.dyn_ref::<js_sys::BigInt>()
                .and_then(|b| b.to_string(10).ok())
                .and_then(|s| s.as_string())
                .unwrap_or_default()
        } else if let Some(s) = v.as_string() {
            s
        } else {
            return Err(err(format!("{what} must be a number, a BigInt or a string")));
        };
        let t = text.trim();
        if t.is_empty() || !t.chars().all(|c| c.is_ascii_digit()) {
            return Err(err(format!("{what} must be a whole number from 0 to 2^64-1")));
        }
        t.parse::<u64>().map(Some).map_err(|_| err(format!("{what} must be at most 2^64-1")))
    }

    fn now_ms() -> f64 {
        web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
    }

    fn bench(messages: JsValue) -> Result<JsValue, JsValue> {
        let messages = whole(&messages, "messages")?.unwrap_or(10_000);
        let t0 = now_ms();
        let run = jetsim_core::bench::run_fanout(messages).map_err(err)?;
        let ms = now_ms() - t0;
        let out = Object::new();
        Reflect::set(&out, &"messages".into(), &JsValue::from_f64(run.messages as f64))?;
        Reflect::set(&out, &"deliveries".into(), &JsValue::from_f64(run.deliveries as f64))?;
        Reflect::set(&out, &"events".into(), &JsValue::from_f64(run.events as f64))?;
        Reflect::set(&out, &"ms".into(), &JsValue::from_f64(ms))?;
        Reflect::set(&out, &"traceHash".into(), &JsValue::from_str(&format!("{:016x}", run.trace_hash)))?;
        Ok(out.into())
    }

    fn bench_r3(messages: JsValue) -> Result<JsValue, JsValue> {
        let messages = whole(&messages, "messages")?.unwrap_or(2_000);
        let t0 = now_ms();
        let run = jetsim_core::bench::run_r3(messages).map_err(err)?;
        let ms = now_ms() - t0;
        let out = Object::new();
        for (k, v) in
            [("messages", run.messages), ("acked", run.acked), ("events", run.events), ("simNs", run.sim_time)]
        {
            Reflect::set(&out, &k.into(), &JsValue::from_f64(v as f64))?;
        }
        Reflect::set(&out, &"ms".into(), &JsValue::from_f64(ms))?;
        Reflect::set(&out, &"traceHash".into(), &JsValue::from_str(&format!("{:016x}", run.trace_hash)))?;
        Ok(out.into())
    }

    fn trace_hash(text: JsValue, seed: JsValue, until: JsValue) -> Result<JsValue, JsValue> {
        let Some(text) = text.as_string() else {
            return Err(err("traceHash(scenarioText, seed?, untilNs?): scenarioText must be a string"));
        };
        let seed = whole(&seed, "seed")?;
        let until = whole(&until, "untilNs")?;
        super::trace_hash(&text, seed, until).map(|h| JsValue::from_str(&h)).map_err(err)
    }

    /// Set `window.jetsim = { bench, benchR3, traceHash }` (replacing any earlier one).
    pub fn install() -> Result<(), JsValue> {
        let window = web_sys::window().ok_or_else(|| err("no window"))?;
        let hooks = Object::new();
        let bench_fn = Closure::<dyn Fn(JsValue) -> Result<JsValue, JsValue>>::new(bench);
        let hash_fn = Closure::<dyn Fn(JsValue, JsValue, JsValue) -> Result<JsValue, JsValue>>::new(trace_hash);
        Reflect::set(&hooks, &"bench".into(), &bench_fn.into_js_value())?;
        let r3_fn = Closure::<dyn Fn(JsValue) -> Result<JsValue, JsValue>>::new(bench_r3);
        Reflect::set(&hooks, &"benchR3".into(), &r3_fn.into_js_value())?;
        Reflect::set(&hooks, &"traceHash".into(), &hash_fn.into_js_value())?;
        Reflect::set(&hooks, &"version".into(), &env!("CARGO_PKG_VERSION").into())?;
        Reflect::set(&window, &"jetsim".into(), &hooks)?;
        Ok(())
    }
}

/// Install `window.jetsim` (a failure is logged, never fatal).
#[cfg(target_arch = "wasm32")]
pub fn install() {
    if let Err(e) = js::install() {
        web_sys::console::error_2(&"jetsim: could not install window.jetsim:".into(), &e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples::EXAMPLES;
    use jetsim_core::sim::World;
    use jetsim_core::time::SEC;

    #[test]
    fn same_rule_as_jetsim_run() {
        for e in EXAMPLES {
            let sc = scenario::parse(e.text).expect("example parses");
            let until = sc.until.unwrap_or(DEFAULT_UNTIL);
            let seed = sc.seed.unwrap_or(1);
            let mut w = World::new(sc, seed).expect("builds");
            w.run_until(until);
            let want = format!("{:016x}", w.trace.hash());
            assert_eq!(trace_hash(e.text, None, None), Ok(want.clone()), "{}", e.id);
            assert_eq!(trace_hash(e.text, Some(seed), Some(until)), Ok(want), "{}", e.id);
            // A run cut short hashes differently.
            assert_ne!(
                trace_hash(e.text, Some(seed), Some(jetsim_core::time::MS)),
                trace_hash(e.text, Some(seed), Some(until))
            );
        }
    }

    #[test]
    fn errors_are_messages() {
        assert!(trace_hash("nonsense", None, None).unwrap_err().starts_with("line 1:"));
        let text = EXAMPLES[0].text;
        assert!(trace_hash(text, None, Some(25 * jetsim_core::time::HOUR)).unwrap_err().contains("beyond the limit"));
        // No `until`: 60 s.
        let no_until = "jetsim 1\nserver n1\nclient c server=n1\nat 0s c: nats pub a hi\n";
        assert_eq!(trace_hash(no_until, None, None), trace_hash(no_until, Some(1), Some(60 * SEC)));
    }
}
