//! The example scenarios the page offers in its picker, embedded at build
//! time from `scenarios/*.jetsim` (the same files `jetsim run` reads).

/// One embedded example.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Example {
    /// File stem, used as the picker's value (`core-pubsub`).
    pub id: &'static str,
    pub text: &'static str,
}

/// The examples, in picker order; the first is what the page opens with.
pub const EXAMPLES: &[Example] = &[
    Example { id: "core-pubsub", text: include_str!("../scenarios/core-pubsub.jetsim") },
    Example { id: "partition", text: include_str!("../scenarios/partition.jetsim") },
    Example { id: "faults", text: include_str!("../scenarios/faults.jetsim") },
    Example { id: "regions", text: include_str!("../scenarios/regions.jetsim") },
    Example { id: "regions-r3", text: include_str!("../scenarios/regions-r3.jetsim") },
    Example { id: "r3-publish", text: include_str!("../scenarios/r3-publish.jetsim") },
    Example { id: "kill-leader", text: include_str!("../scenarios/kill-leader.jetsim") },
    Example { id: "r1-r3-r5", text: include_str!("../scenarios/r1-r3-r5.jetsim") },
    Example { id: "az-unique-tag", text: include_str!("../scenarios/az-unique-tag.jetsim") },
    Example { id: "lose-quorum", text: include_str!("../scenarios/lose-quorum.jetsim") },
    Example { id: "lazy-fsync-power-loss", text: include_str!("../scenarios/lazy-fsync-power-loss.jetsim") },
    Example { id: "pull-consumer", text: include_str!("../scenarios/pull-consumer.jetsim") },
];

/// The example the page opens with.
pub const DEFAULT_EXAMPLE: &str = "core-pubsub";

pub fn find(id: &str) -> Option<&'static Example> {
    EXAMPLES.iter().find(|e| e.id == id)
}

/// The title shown in the picker: the scenario's `name`, else the file stem.
/// Parsed once per example (the picker is drawn on every frame).
pub fn title(example: &Example) -> String {
    thread_local! {
        static TITLES: std::cell::RefCell<Vec<(&'static str, String)>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    TITLES.with(|t| {
        if let Some((_, title)) = t.borrow().iter().find(|(id, _)| *id == example.id) {
            return title.clone();
        }
        let title = match jetsim_core::scenario::parse(example.text) {
            Ok(sc) if !sc.name.trim().is_empty() => sc.name,
            _ => example.id.to_string(),
        };
        t.borrow_mut().push((example.id, title.clone()));
        title
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_parses_and_builds() {
        for e in EXAMPLES {
            let sc = jetsim_core::scenario::parse(e.text).unwrap_or_else(|err| panic!("{}: {err}", e.id));
            jetsim_core::sim::World::new(sc, 1).unwrap_or_else(|err| panic!("{}: {err}", e.id));
        }
        assert!(find(DEFAULT_EXAMPLE).is_some());
    }

    #[test]
    fn every_scenario_file_is_offered() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
        let mut missing = Vec::new();
        for entry in std::fs::read_dir(dir).expect("scenarios/ exists") {
            let path = entry.expect("dir entry").path();
            if path.extension().and_then(|e| e.to_str()) == Some("jetsim") {
                let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
                if find(&stem).is_none() {
                    missing.push(stem);
                }
            }
        }
        assert!(missing.is_empty(), "scenarios/ files not embedded in src/examples.rs: {missing:?}");
    }
}
