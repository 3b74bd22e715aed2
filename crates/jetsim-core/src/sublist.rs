//! The subscription index: which subscriptions match a published subject
//! (spec §1.6, §1.7; modelled on nats-server `server/sublist.go`).
//!
//! * A token trie: each node has literal children (a `BTreeMap`) plus an
//!   optional `*` child and an optional `>` child. Nodes live in an arena and
//!   refer to each other by `u32` index, so nothing is recursive: deep subjects
//!   cannot overflow the stack when matching, removing or dropping.
//! * A flat `subject → node` index of the nodes that hold subscriptions, for
//!   fast inserts/removes of known subjects and for deterministic listing.
//! * A result cache keyed by subject (a hash map used only for lookups, with a
//!   fixed, seedless hasher), invalidated selectively on insert/remove and
//!   cleared when it reaches [`CACHE_MAX`] entries.
//!
//! Results are deterministic: plain values sorted and deduplicated, queue
//! groups sorted by name, each group's members sorted and deduplicated.
//!
//! Entries are the triple (subject, queue, value). Inserting a triple that is
//! already present is a no-op (it is not counted twice); removing it once
//! removes it. A queue of `Some("")` is the same as `None` (no queue).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;

use crate::subject;
use crate::vecmap::VecMap;

/// The result cache is cleared when it holds this many entries.
pub const CACHE_MAX: usize = 4096;

/// Errors from [`Sublist::insert`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SublistError {
    /// The subject is not a valid subject (see [`subject::is_valid_subject`]).
    InvalidSubject,
    /// The trie would need more than `u32::MAX` nodes.
    CapacityExceeded,
    /// An internal invariant did not hold. Never expected; returned instead of
    /// panicking.
    Internal,
}

impl fmt::Display for SublistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SublistError::InvalidSubject => f.write_str("sublist: invalid subject"),
            SublistError::CapacityExceeded => f.write_str("sublist: capacity exceeded"),
            SublistError::Internal => f.write_str("sublist: internal error"),
        }
    }
}

impl std::error::Error for SublistError {}

/// The subscriptions matching one subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SublistResult<T> {
    /// Plain (non-queue) subscriptions, sorted, deduplicated.
    pub plain: Vec<T>,
    /// Queue groups sorted by name; members sorted, deduplicated, never empty.
    pub queues: Vec<(String, Vec<T>)>,
}

impl<T> Default for SublistResult<T> {
    fn default() -> Self {
        SublistResult { plain: Vec::new(), queues: Vec::new() }
    }
}

impl<T> SublistResult<T> {
    /// No plain subscription and no queue group.
    pub fn is_empty(&self) -> bool {
        self.plain.is_empty() && self.queues.is_empty()
    }

    /// The members of queue group `name`, if it matched.
    pub fn queue(&self, name: &str) -> Option<&[T]> {
        self.queues
            .binary_search_by(|(q, _)| q.as_str().cmp(name))
            .ok()
            .and_then(|i| self.queues.get(i))
            .map(|(_, members)| members.as_slice())
    }
}

/// How a node hangs off its parent.
#[derive(Clone, Debug)]
enum Edge {
    Root,
    Lit(Box<str>),
    Pwc,
    Fwc,
}

#[derive(Clone, Debug)]
struct Node<T> {
    parent: u32,
    edge: Edge,
    lit: BTreeMap<Box<str>, u32>,
    pwc: Option<u32>,
    fwc: Option<u32>,
    plain: BTreeSet<T>,
    /// Queue groups of this subject: few per node, so a sorted `Vec`.
    queues: VecMap<Box<str>, BTreeSet<T>>,
}

impl<T> Node<T> {
    fn new(parent: u32, edge: Edge) -> Self {
        Node { parent, edge, lit: BTreeMap::new(), pwc: None, fwc: None, plain: BTreeSet::new(), queues: VecMap::new() }
    }

    fn has_subs(&self) -> bool {
        !self.plain.is_empty() || !self.queues.is_empty()
    }

    fn has_children(&self) -> bool {
        !self.lit.is_empty() || self.pwc.is_some() || self.fwc.is_some()
    }

    fn sub_count(&self) -> usize {
        self.plain.len() + self.queues.values().map(BTreeSet::len).sum::<usize>()
    }

    fn child(&self, tok: &str) -> Option<u32> {
        match tok {
            subject::PWC => self.pwc,
            subject::FWC => self.fwc,
            t => self.lit.get(t).copied(),
        }
    }
}

const ROOT: u32 = 0;

/// FxHash-style word hasher with a murmur3 finaliser: fast, seedless and the
/// same on every target. Only used for cache lookups.
#[derive(Clone, Copy, Default)]
struct FxHasher {
    hash: u64,
}

impl FxHasher {
    const K: u64 = 0x517c_c1b7_2722_0a95;

    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            for (d, s) in word.iter_mut().zip(chunk) {
                *d = *s;
            }
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn finish(&self) -> u64 {
        let mut h = self.hash;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

type Cache<T> = HashMap<Box<str>, Rc<SublistResult<T>>, BuildHasherDefault<FxHasher>>;

/// The subscription index. `T` is the subscriber identity chosen by the
/// server (small and `Ord`, e.g. a client connection and sid).
#[derive(Clone)]
pub struct Sublist<T> {
    /// Arena; `nodes[0]` is the root. `None` slots are on `free`.
    nodes: Vec<Option<Node<T>>>,
    free: Vec<u32>,
    /// Subject → node, for every node that holds at least one entry.
    terminals: BTreeMap<Box<str>, u32>,
    count: usize,
    cache: Cache<T>,
    empty: Rc<SublistResult<T>>,
}

impl<T: Clone + Ord + fmt::Debug> Default for Sublist<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for Sublist<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The cache is left out: its iteration order is not deterministic.
        let mut m = f.debug_map();
        for (subject, &id) in &self.terminals {
            if let Some(Some(n)) = self.nodes.get(id as usize) {
                m.entry(subject, &(&n.plain, &n.queues));
            }
        }
        m.finish()
    }
}

impl<T: Clone + Ord + fmt::Debug> Sublist<T> {
    /// An empty index.
    pub fn new() -> Self {
        Sublist {
            nodes: vec![Some(Node::new(ROOT, Edge::Root))],
            free: Vec::new(),
            terminals: BTreeMap::new(),
            count: 0,
            cache: Cache::default(),
            empty: Rc::new(SublistResult::default()),
        }
    }

    fn node(&self, id: u32) -> Option<&Node<T>> {
        self.nodes.get(id as usize).and_then(Option::as_ref)
    }

    fn node_mut(&mut self, id: u32) -> Option<&mut Node<T>> {
        self.nodes.get_mut(id as usize).and_then(Option::as_mut)
    }

    fn alloc(&mut self, parent: u32, edge: Edge) -> Result<u32, SublistError> {
        if let Some(id) = self.free.pop() {
            if let Some(slot) = self.nodes.get_mut(id as usize) {
                *slot = Some(Node::new(parent, edge));
                return Ok(id);
            }
            return Err(SublistError::Internal);
        }
        let id = u32::try_from(self.nodes.len()).map_err(|_| SublistError::CapacityExceeded)?;
        if id == u32::MAX {
            return Err(SublistError::CapacityExceeded);
        }
        self.nodes.push(Some(Node::new(parent, edge)));
        Ok(id)
    }

    /// Walks `subject` (already validated) from the root, creating nodes.
    fn find_or_create(&mut self, subject: &str) -> Result<u32, SublistError> {
        let mut cur = ROOT;
        for tok in subject::tokens(subject) {
            if let Some(next) = self.node(cur).and_then(|n| n.child(tok)) {
                cur = next;
                continue;
            }
            let edge = match tok {
                subject::PWC => Edge::Pwc,
                subject::FWC => Edge::Fwc,
                t => Edge::Lit(t.into()),
            };
            let id = match self.alloc(cur, edge) {
                Ok(id) => id,
                Err(e) => {
                    self.prune(cur);
                    return Err(e);
                }
            };
            let Some(n) = self.node_mut(cur) else {
                return Err(SublistError::Internal);
            };
            match tok {
                subject::PWC => n.pwc = Some(id),
                subject::FWC => n.fwc = Some(id),
                t => {
                    n.lit.insert(t.into(), id);
                }
            }
            cur = id;
        }
        Ok(cur)
    }

    /// Frees `id` and its ancestors while they hold nothing.
    fn prune(&mut self, mut id: u32) {
        while id != ROOT {
            match self.node(id) {
                Some(n) if !n.has_subs() && !n.has_children() => {}
                _ => return,
            }
            let Some(n) = self.nodes.get_mut(id as usize).and_then(Option::take) else {
                return;
            };
            self.free.push(id);
            let parent = n.parent;
            let Some(p) = self.node_mut(parent) else {
                return;
            };
            match n.edge {
                Edge::Lit(t) => {
                    if p.lit.get(&t) == Some(&id) {
                        p.lit.remove(&t);
                    }
                }
                Edge::Pwc => {
                    if p.pwc == Some(id) {
                        p.pwc = None;
                    }
                }
                Edge::Fwc => {
                    if p.fwc == Some(id) {
                        p.fwc = None;
                    }
                }
                Edge::Root => return,
            }
            id = parent;
        }
    }

    /// Drops the cached results an entry on `pattern` could change.
    fn invalidate(&mut self, pattern: &str) {
        if self.cache.is_empty() {
            return;
        }
        if subject::is_literal(pattern) {
            self.cache.remove(pattern);
        } else {
            // Order of visiting is irrelevant: the outcome is a set.
            self.cache.retain(|k, _| !subject::matches_tokens(pattern, k));
        }
    }

    /// Adds the entry (subject, queue, value). An invalid subject is refused;
    /// an entry already present is left as is (not counted twice).
    pub fn insert(&mut self, subject: &str, queue: Option<&str>, value: T) -> Result<(), SublistError> {
        if !subject::is_valid_subject(subject) {
            return Err(SublistError::InvalidSubject);
        }
        let queue = queue.filter(|q| !q.is_empty());
        let id = match self.terminals.get(subject) {
            Some(&id) => id,
            None => self.find_or_create(subject)?,
        };
        let Some(n) = self.node_mut(id) else {
            return Err(SublistError::Internal);
        };
        let added = match queue {
            None => n.plain.insert(value),
            Some(q) => match n.queues.get_mut(q) {
                Some(members) => members.insert(value),
                None => {
                    n.queues.insert(q.into(), BTreeSet::from([value]));
                    true
                }
            },
        };
        if added {
            if !self.terminals.contains_key(subject) {
                self.terminals.insert(subject.into(), id);
            }
            self.count = self.count.saturating_add(1);
            self.invalidate(subject);
        }
        Ok(())
    }

    /// Removes the entry (subject, queue, value); `false` if it was absent.
    pub fn remove(&mut self, subject: &str, queue: Option<&str>, value: &T) -> bool {
        let queue = queue.filter(|q| !q.is_empty());
        let Some(&id) = self.terminals.get(subject) else {
            return false;
        };
        let Some(n) = self.node_mut(id) else {
            return false;
        };
        let removed = match queue {
            None => n.plain.remove(value),
            Some(q) => match n.queues.get_mut(q) {
                Some(members) => {
                    let r = members.remove(value);
                    if members.is_empty() {
                        n.queues.remove(q);
                    }
                    r
                }
                None => false,
            },
        };
        if !removed {
            return false;
        }
        let now_empty = !n.has_subs();
        self.count = self.count.saturating_sub(1);
        if now_empty {
            self.terminals.remove(subject);
            self.prune(id);
        }
        self.invalidate(subject);
        true
    }

    /// Removes every entry whose value satisfies `pred` (a client or route
    /// went away). Returns how many entries were removed.
    pub fn remove_all(&mut self, pred: impl Fn(&T) -> bool) -> usize {
        let mut removed = 0usize;
        let mut touched: Vec<Box<str>> = Vec::new();
        let mut emptied: Vec<(Box<str>, u32)> = Vec::new();
        let nodes = &mut self.nodes;
        for (subj, &id) in &self.terminals {
            let Some(Some(n)) = nodes.get_mut(id as usize) else {
                continue;
            };
            let before = n.sub_count();
            n.plain.retain(|v| !pred(v));
            n.queues.retain(|_, members| {
                members.retain(|v| !pred(v));
                !members.is_empty()
            });
            let gone = before.saturating_sub(n.sub_count());
            if gone > 0 {
                removed = removed.saturating_add(gone);
                touched.push(subj.clone());
                if !n.has_subs() {
                    emptied.push((subj.clone(), id));
                }
            }
        }
        for (subj, id) in emptied {
            self.terminals.remove(&subj);
            self.prune(id);
        }
        if removed > 0 {
            self.count = self.count.saturating_sub(removed);
            if touched.len() <= 16 {
                for s in &touched {
                    self.invalidate(s);
                }
            } else {
                self.cache.clear();
            }
        }
        removed
    }

    /// Is the entry (subject, queue, value) present?
    pub fn contains(&self, subject: &str, queue: Option<&str>, value: &T) -> bool {
        let queue = queue.filter(|q| !q.is_empty());
        let Some(n) = self.terminals.get(subject).and_then(|&id| self.node(id)) else {
            return false;
        };
        match queue {
            None => n.plain.contains(value),
            Some(q) => n.queues.get(q).is_some_and(|m| m.contains(value)),
        }
    }

    /// The entries matching `subject`, cached.
    ///
    /// `subject` is normally literal. A subject with an empty token (or `""`)
    /// matches nothing. A `*`/`>` token in `subject` is matched only by
    /// wildcard entries, as in nats-server (see [`subject::matches`]).
    pub fn matches(&mut self, subject: &str) -> Rc<SublistResult<T>> {
        if let Some(r) = self.cache.get(subject) {
            return Rc::clone(r);
        }
        if subject.is_empty() || subject::tokens(subject).any(str::is_empty) {
            return Rc::clone(&self.empty);
        }
        let r = self.compute(subject);
        let r = if r.is_empty() { Rc::clone(&self.empty) } else { Rc::new(r) };
        if self.cache.len() >= CACHE_MAX {
            self.cache.clear();
        }
        self.cache.insert(subject.into(), Rc::clone(&r));
        r
    }

    /// Like [`Sublist::matches`], without touching the cache.
    pub fn matches_uncached(&self, subject: &str) -> SublistResult<T> {
        if subject.is_empty() || subject::tokens(subject).any(str::is_empty) {
            return SublistResult::default();
        }
        self.compute(subject)
    }

    /// Is there any entry matching `subject`?
    pub fn has_interest(&mut self, subject: &str) -> bool {
        !self.matches(subject).is_empty()
    }

    fn compute(&self, subject: &str) -> SublistResult<T> {
        let toks: Vec<&str> = subject::tokens(subject).collect();
        let mut plain: Vec<T> = Vec::new();
        let mut queues: VecMap<&str, Vec<T>> = VecMap::new();
        fn add<'a, T: Clone>(n: &'a Node<T>, plain: &mut Vec<T>, queues: &mut VecMap<&'a str, Vec<T>>) {
            plain.extend(n.plain.iter().cloned());
            for (q, members) in &n.queues {
                queues.entry(&**q).or_default().extend(members.iter().cloned());
            }
        }
        // Depth-first over (node, index of the next token). Each trie node is
        // reached by at most one path, so this is linear in the trie size.
        let mut stack: Vec<(u32, usize)> = vec![(ROOT, 0)];
        while let Some((id, i)) = stack.pop() {
            let Some(n) = self.node(id) else {
                continue;
            };
            let Some(tok) = toks.get(i) else {
                // All tokens consumed: the entries ending here match.
                add(n, &mut plain, &mut queues);
                continue;
            };
            if let Some(f) = n.fwc.and_then(|f| self.node(f)) {
                add(f, &mut plain, &mut queues);
            }
            if let Some(p) = n.pwc {
                stack.push((p, i + 1));
            }
            if let Some(&c) = n.lit.get(*tok) {
                stack.push((c, i + 1));
            }
        }
        crate::sort::sort(&mut plain);
        plain.dedup();
        let queues = queues
            .into_iter()
            .map(|(q, mut members)| {
                crate::sort::sort(&mut members);
                members.dedup();
                (q.to_string(), members)
            })
            .collect();
        SublistResult { plain, queues }
    }

    /// Number of entries.
    pub fn count(&self) -> usize {
        self.count
    }

    /// No entries at all.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Every entry as (subject, queue, value), sorted by that triple (plain
    /// before queue entries on the same subject).
    pub fn all_subscriptions(&self) -> Vec<(String, Option<String>, T)> {
        let mut out = Vec::with_capacity(self.count);
        for (subj, &id) in &self.terminals {
            let Some(n) = self.node(id) else {
                continue;
            };
            for v in &n.plain {
                out.push((subj.to_string(), None, v.clone()));
            }
            for (q, members) in &n.queues {
                for v in members {
                    out.push((subj.to_string(), Some(q.to_string()), v.clone()));
                }
            }
        }
        out
    }

    /// Number of cached results.
    pub fn cache_len(&self) -> usize {
        self.cache.len()
    }

    /// Drops every cached result.
    pub fn clear_cache(&mut self) {
        self.cache.clear();
    }

    /// Live trie nodes, root included (1 when empty).
    pub fn node_count(&self) -> usize {
        self.nodes.len().saturating_sub(self.free.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sl() -> Sublist<u32> {
        Sublist::new()
    }

    fn plain(r: &SublistResult<u32>) -> Vec<u32> {
        r.plain.clone()
    }

    #[test]
    fn init_and_count() {
        let mut s = sl();
        assert!(s.is_empty());
        assert_eq!(s.count(), 0);
        s.insert("foo", None, 1).unwrap();
        s.insert("bar", None, 2).unwrap();
        s.insert("foo.bar", None, 3).unwrap();
        assert_eq!(s.count(), 3);
        assert!(!s.is_empty());
    }

    #[test]
    fn simple_and_multi_token() {
        let mut s = sl();
        s.insert("foo", None, 1).unwrap();
        s.insert("foo.bar.baz", None, 2).unwrap();
        assert_eq!(plain(&s.matches("foo")), vec![1]);
        assert_eq!(plain(&s.matches("foo.bar.baz")), vec![2]);
        assert!(s.matches("foo.bar").is_empty());
        assert!(s.matches("bar").is_empty());
        // A single-token subscription does not match a two-token subject.
        assert!(s.matches("foo.bar").is_empty());
    }

    #[test]
    fn partial_wildcard() {
        let mut s = sl();
        s.insert("a.b.c", None, 1).unwrap();
        s.insert("a.*.c", None, 2).unwrap();
        s.insert("*.b.*", None, 3).unwrap();
        s.insert("a.b.*", None, 4).unwrap();
        assert_eq!(plain(&s.matches("a.b.c")), vec![1, 2, 3, 4]);
        assert_eq!(plain(&s.matches("a.x.c")), vec![2]);
        assert_eq!(plain(&s.matches("z.b.z")), vec![3]);
        assert!(s.matches("a.b").is_empty());
        assert!(s.matches("a.b.c.d").is_empty());
    }

    #[test]
    fn full_wildcard() {
        let mut s = sl();
        s.insert("a.b.c", None, 1).unwrap();
        s.insert("a.>", None, 2).unwrap();
        s.insert(">", None, 3).unwrap();
        s.insert("a.b.>", None, 4).unwrap();
        assert_eq!(plain(&s.matches("a.b.c")), vec![1, 2, 3, 4]);
        assert_eq!(plain(&s.matches("a.b")), vec![2, 3]);
        assert_eq!(plain(&s.matches("a")), vec![3]);
        assert_eq!(plain(&s.matches("x.y.z.w")), vec![3]);
    }

    #[test]
    fn remove_and_cleanup() {
        let mut s = sl();
        s.insert("a.b.c.d", None, 1).unwrap();
        s.insert("a.*.c.>", Some("q"), 2).unwrap();
        assert_eq!(s.count(), 2);
        assert!(s.node_count() > 1);
        assert!(!s.remove("a.b.c.d", None, &2), "wrong value");
        assert!(!s.remove("a.b.c.d", Some("q"), &1), "wrong queue");
        assert!(!s.remove("a.b.c", None, &1), "wrong subject");
        assert!(!s.remove("a..c", None, &1), "invalid subject");
        assert!(s.remove("a.b.c.d", None, &1));
        assert!(!s.remove("a.b.c.d", None, &1), "already removed");
        assert_eq!(s.count(), 1);
        assert!(s.matches("a.b.c.d").plain.is_empty());
        assert_eq!(s.matches("a.b.c.d").queue("q"), Some(&[2][..]));
        assert!(s.remove("a.*.c.>", Some("q"), &2));
        assert_eq!(s.count(), 0);
        assert!(s.is_empty());
        assert_eq!(s.node_count(), 1, "trie not pruned");
        assert!(s.matches("a.b.c.d").is_empty());
        // Freed nodes are reused.
        s.insert("x.y", None, 1).unwrap();
        assert_eq!(s.node_count(), 3);
        assert_eq!(s.nodes.len(), 8, "arena did not grow");
    }

    #[test]
    fn remove_keeps_shared_prefix() {
        let mut s = sl();
        s.insert("a.b", None, 1).unwrap();
        s.insert("a.b.c", None, 2).unwrap();
        assert!(s.remove("a.b", None, &1));
        assert_eq!(plain(&s.matches("a.b.c")), vec![2]);
        assert!(s.remove("a.b.c", None, &2));
        assert_eq!(s.node_count(), 1);
    }

    #[test]
    fn invalid_subjects_are_refused() {
        // nats-server TestSublistInvalidSubjectsInsert, plus whitespace.
        let mut s = sl();
        for subj in [".foo", "foo.", "foo..bar", "foo.bar..baz", "foo.>.bar", "foo.>.>", "", "a b", "a.\0"] {
            assert_eq!(s.insert(subj, None, 1), Err(SublistError::InvalidSubject), "{subj:?}");
        }
        assert_eq!(s.count(), 0);
        assert_eq!(s.node_count(), 1);
    }

    #[test]
    fn wildcards_as_literals() {
        // nats-server TestSublistInsertWithWildcardsAsLiterals.
        let mut s = sl();
        for subj in ["foo.*-", "foo.>-"] {
            s.insert(subj, None, 1).unwrap();
            assert!(s.matches("foo.bar").is_empty());
            assert_eq!(plain(&s.matches(subj)), vec![1]);
        }
        assert!(s.remove("foo.*-", None, &1));
        assert!(s.matches("foo.*-").is_empty());
        assert_eq!(plain(&s.matches("foo.>-")), vec![1]);
    }

    #[test]
    fn empty_tokens_match_nothing() {
        // nats-server TestSublistMatchWithEmptyTokens.
        let mut s = sl();
        s.insert(">", None, 1).unwrap();
        s.insert(">", Some("queue"), 2).unwrap();
        for subj in [".foo", "..foo", "foo..", "foo.", "foo..bar", "foo...bar", ""] {
            assert!(s.matches(subj).is_empty(), "{subj:?}");
            assert!(!s.has_interest(subj), "{subj:?}");
        }
        assert_eq!(s.cache_len(), 0, "bad subjects must not be cached");
        assert!(s.has_interest("foo"));
    }

    #[test]
    fn wildcard_tokens_in_published_subject() {
        let mut s = sl();
        s.insert("foo.bar", None, 1).unwrap();
        s.insert("foo.*", None, 2).unwrap();
        s.insert("foo.>", None, 3).unwrap();
        assert_eq!(plain(&s.matches("foo.*")), vec![2, 3]);
        assert_eq!(plain(&s.matches("foo.>")), vec![2, 3]);
    }

    #[test]
    fn queue_results_are_grouped_and_sorted() {
        let mut s = sl();
        s.insert("foo.bar", None, 9).unwrap();
        s.insert("foo.bar", Some("zz"), 5).unwrap();
        s.insert("foo.bar", Some("bar"), 3).unwrap();
        s.insert("foo.*", Some("bar"), 1).unwrap();
        s.insert("foo.>", Some("bar"), 3).unwrap();
        s.insert("foo.*", Some("baz"), 7).unwrap();
        s.insert(">", None, 9).unwrap();
        let r = s.matches("foo.bar");
        assert_eq!(r.plain, vec![9], "deduplicated across patterns");
        assert_eq!(
            r.queues,
            vec![("bar".to_string(), vec![1, 3]), ("baz".to_string(), vec![7]), ("zz".to_string(), vec![5])]
        );
        assert_eq!(r.queue("baz"), Some(&[7][..]));
        assert_eq!(r.queue("nope"), None);
        // Remove the last member of a group: the group disappears.
        assert!(s.remove("foo.*", Some("baz"), &7));
        let r = s.matches("foo.bar");
        assert_eq!(r.queue("baz"), None);
        assert_eq!(r.queues.len(), 2);
        // Only the plain entries left after removing the queue members.
        assert!(s.remove("foo.bar", Some("zz"), &5));
        assert!(s.remove("foo.bar", Some("bar"), &3));
        assert!(s.remove("foo.*", Some("bar"), &1));
        assert!(s.remove("foo.>", Some("bar"), &3));
        let r = s.matches("foo.bar");
        assert!(r.queues.is_empty());
        assert_eq!(r.plain, vec![9]);
    }

    #[test]
    fn duplicates_and_empty_queue() {
        let mut s = sl();
        s.insert("foo", None, 1).unwrap();
        s.insert("foo", None, 1).unwrap();
        s.insert("foo", Some(""), 1).unwrap();
        assert_eq!(s.count(), 1, "duplicates are not counted");
        assert!(s.contains("foo", None, &1));
        assert!(s.contains("foo", Some(""), &1));
        assert!(!s.contains("foo", Some("q"), &1));
        s.insert("foo", Some("q"), 1).unwrap();
        assert_eq!(s.count(), 2, "same value in a queue is a different entry");
        assert!(s.remove("foo", Some(""), &1));
        assert!(!s.contains("foo", None, &1));
        assert!(s.contains("foo", Some("q"), &1));
        assert_eq!(s.count(), 1);
    }

    #[test]
    fn cache_hits_and_invalidation() {
        let mut s = sl();
        s.insert("a.b", None, 1).unwrap();
        let r1 = s.matches("a.b");
        let r2 = s.matches("a.b");
        assert!(Rc::ptr_eq(&r1, &r2), "second lookup should come from the cache");
        assert_eq!(s.cache_len(), 1);
        let _ = s.matches("x.y");
        let _ = s.matches("a.c");
        assert_eq!(s.cache_len(), 3);

        // A literal insert invalidates only its own subject.
        s.insert("a.b", None, 2).unwrap();
        assert_eq!(s.cache_len(), 2);
        assert_eq!(plain(&s.matches("a.b")), vec![1, 2]);

        // A wildcard insert invalidates the subjects it matches.
        s.insert("a.*", None, 3).unwrap();
        assert_eq!(s.cache_len(), 1, "only x.y survives");
        assert_eq!(plain(&s.matches("a.b")), vec![1, 2, 3]);
        assert_eq!(plain(&s.matches("a.c")), vec![3]);
        assert!(s.matches("x.y").is_empty());

        // Removal invalidates too.
        assert!(s.remove("a.*", None, &3));
        assert_eq!(plain(&s.matches("a.b")), vec![1, 2]);
        assert!(s.matches("a.c").is_empty());

        // A duplicate insert keeps the cache.
        let before = s.matches("a.b");
        s.insert("a.b", None, 1).unwrap();
        assert!(Rc::ptr_eq(&before, &s.matches("a.b")));
    }

    #[test]
    fn cache_is_bounded() {
        let mut s = sl();
        s.insert(">", None, 1).unwrap();
        for i in 0..(CACHE_MAX as u32 * 2 + 7) {
            let subj = format!("s.{i}");
            assert_eq!(plain(&s.matches(&subj)), vec![1]);
            assert!(s.cache_len() <= CACHE_MAX);
        }
        assert!(s.cache_len() >= 1);
    }

    #[test]
    fn remove_all_by_predicate() {
        let mut s = sl();
        s.insert("a.b", None, 1).unwrap();
        s.insert("a.b", None, 2).unwrap();
        s.insert("a.*", Some("q"), 12).unwrap();
        s.insert("a.>", None, 11).unwrap();
        s.insert("c", Some("q"), 13).unwrap();
        assert_eq!(s.matches("a.b").plain, vec![1, 2, 11]);
        assert_eq!(s.remove_all(|v| *v >= 10), 3);
        assert_eq!(s.count(), 2);
        let r = s.matches("a.b");
        assert_eq!(r.plain, vec![1, 2]);
        assert!(r.queues.is_empty());
        assert!(s.matches("c").is_empty());
        assert_eq!(s.remove_all(|v| *v >= 10), 0);
        assert_eq!(s.remove_all(|_| true), 2);
        assert!(s.is_empty());
        assert_eq!(s.node_count(), 1);
        assert!(s.all_subscriptions().is_empty());
    }

    #[test]
    fn all_subscriptions_sorted() {
        let mut s = sl();
        s.insert("b", Some("q2"), 4).unwrap();
        s.insert("b", Some("q1"), 5).unwrap();
        s.insert("b", None, 7).unwrap();
        s.insert("a.>", None, 2).unwrap();
        s.insert("a.*", None, 1).unwrap();
        s.insert("a", None, 3).unwrap();
        s.insert("b", None, 6).unwrap();
        let all = s.all_subscriptions();
        let mut sorted = all.clone();
        sorted.sort();
        assert_eq!(all, sorted);
        assert_eq!(all.len(), s.count());
        assert_eq!(all.first(), Some(&("a".to_string(), None, 3)));
        assert_eq!(all.last(), Some(&("b".to_string(), Some("q2".to_string()), 4)));
        assert_eq!(all.get(3), Some(&("b".to_string(), None, 6)));
    }

    #[test]
    fn deep_subjects_do_not_overflow_the_stack() {
        let mut s = sl();
        let n = 20_000;
        let lit = vec!["a"; n].join(".");
        let pwc = vec!["*"; n].join(".");
        let mut fwc = vec!["*"; n - 1].join(".");
        fwc.push_str(".>");
        s.insert(&lit, None, 1).unwrap();
        s.insert(&pwc, None, 2).unwrap();
        s.insert(&fwc, Some("q"), 3).unwrap();
        let r = s.matches(&lit);
        assert_eq!(r.plain, vec![1, 2]);
        assert_eq!(r.queue("q"), Some(&[3][..]));
        assert!(s.remove(&pwc, None, &2));
        assert_eq!(s.matches(&lit).plain, vec![1]);
        assert!(s.remove(&lit, None, &1));
        // Dropped with a deep trie still present.
        drop(s);
    }

    #[test]
    fn debug_output_is_deterministic() {
        let mut a = sl();
        let mut b = sl();
        for (i, subj) in ["x", "a.b", "m.*", "z.>"].iter().enumerate() {
            a.insert(subj, None, i as u32).unwrap();
        }
        for (i, subj) in ["x", "a.b", "m.*", "z.>"].iter().enumerate().rev() {
            b.insert(subj, None, i as u32).unwrap();
        }
        let _ = a.matches("m.q");
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }

    #[test]
    fn hasher_spreads_similar_keys() {
        use std::hash::BuildHasher;
        let bh = BuildHasherDefault::<FxHasher>::default();
        let h = |s: &str| bh.hash_one(s);
        assert_eq!(h("foo.bar"), h("foo.bar"));
        let hashes: BTreeSet<u64> = (0..1000).map(|i| h(&format!("orders.{i:08}")) & 0xfff).collect();
        assert!(hashes.len() > 700, "low bits poorly spread: {}", hashes.len());
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod proptests {
    use super::*;
    use proptest::prelude::*;
    use proptest::sample::Index;

    type Entry = (String, Option<String>, u8);

    fn pattern() -> impl Strategy<Value = String> {
        (
            proptest::collection::vec(prop_oneof![Just("a"), Just("b"), Just("*")], 0..3),
            prop_oneof![Just("a"), Just("b"), Just("c"), Just("*"), Just(">")],
        )
            .prop_map(|(mut v, last)| {
                v.push(last);
                v.join(".")
            })
    }

    fn probe() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => proptest::collection::vec(prop_oneof![Just("a"), Just("b"), Just("c")], 1..5)
                .prop_map(|v| v.join(".")),
            1 => proptest::collection::vec(prop_oneof![Just("a"), Just("*"), Just(">")], 1..4)
                .prop_map(|v| v.join(".")),
            1 => Just("a..b".to_string()),
        ]
    }

    fn queue() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            3 => Just(None),
            1 => Just(Some("q1".to_string())),
            1 => Just(Some("q2".to_string())),
        ]
    }

    #[derive(Clone, Debug)]
    enum Op {
        Insert(String, Option<String>, u8),
        Remove(Index),
        RemoveMissing(String, Option<String>, u8),
        RemoveAll(u8),
        Match(String),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (pattern(), queue(), 0u8..4).prop_map(|(s, q, v)| Op::Insert(s, q, v)),
            3 => any::<Index>().prop_map(Op::Remove),
            1 => (pattern(), queue(), 0u8..4).prop_map(|(s, q, v)| Op::RemoveMissing(s, q, v)),
            1 => (0u8..4).prop_map(Op::RemoveAll),
            3 => probe().prop_map(Op::Match),
        ]
    }

    fn reference(model: &BTreeSet<Entry>, subj: &str) -> SublistResult<u8> {
        let mut plain = BTreeSet::new();
        let mut queues: BTreeMap<String, BTreeSet<u8>> = BTreeMap::new();
        for (p, q, v) in model {
            if subject::matches(p, subj) {
                match q {
                    None => {
                        plain.insert(*v);
                    }
                    Some(q) => {
                        queues.entry(q.clone()).or_default().insert(*v);
                    }
                }
            }
        }
        SublistResult {
            plain: plain.into_iter().collect(),
            queues: queues.into_iter().map(|(q, m)| (q, m.into_iter().collect())).collect(),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn sublist_agrees_with_reference(ops in proptest::collection::vec(op(), 1..40),
                                         probes in proptest::collection::vec(probe(), 1..6)) {
            let mut s: Sublist<u8> = Sublist::new();
            let mut model: BTreeSet<Entry> = BTreeSet::new();
            for op in &ops {
                match op {
                    Op::Insert(p, q, v) => {
                        prop_assert!(s.insert(p, q.as_deref(), *v).is_ok());
                        model.insert((p.clone(), q.clone(), *v));
                    }
                    Op::Remove(idx) => {
                        if !model.is_empty() {
                            let e = model.iter().nth(idx.index(model.len())).cloned();
                            if let Some((p, q, v)) = e {
                                prop_assert!(s.remove(&p, q.as_deref(), &v));
                                model.remove(&(p, q, v));
                            }
                        }
                    }
                    Op::RemoveMissing(p, q, v) => {
                        let key = (p.clone(), q.clone(), *v);
                        prop_assert_eq!(s.remove(p, q.as_deref(), v), model.remove(&key));
                    }
                    Op::RemoveAll(v) => {
                        let before = model.len();
                        model.retain(|e| e.2 != *v);
                        prop_assert_eq!(s.remove_all(|x| x == v), before - model.len());
                    }
                    Op::Match(p) => {
                        let want = reference(&model, p);
                        prop_assert_eq!(&*s.matches(p), &want, "subject {}", p);
                    }
                }
                prop_assert_eq!(s.count(), model.len());
                for p in &probes {
                    let want = reference(&model, p);
                    let got = s.matches(p);
                    prop_assert_eq!(&*got, &want, "subject {} after {:?}", p, op);
                    prop_assert_eq!(&s.matches_uncached(p), &want);
                    prop_assert_eq!(s.has_interest(p), !want.is_empty());
                }
            }
            let all: Vec<Entry> = s.all_subscriptions();
            let want: Vec<Entry> = model.iter().cloned().collect();
            prop_assert_eq!(all, want);
            if model.is_empty() {
                prop_assert_eq!(s.node_count(), 1);
            }
            // Removing everything always prunes the whole trie.
            prop_assert_eq!(s.remove_all(|_| true), model.len());
            prop_assert_eq!(s.node_count(), 1);
            prop_assert!(s.is_empty());
        }

        #[test]
        fn sublist_never_panics(subjects in proptest::collection::vec(any::<String>(), 0..8),
                                bytes in proptest::collection::vec(any::<u8>(), 0..32),
                                q in proptest::option::of(any::<String>())) {
            let mut s: Sublist<u8> = Sublist::new();
            let lossy = String::from_utf8_lossy(&bytes).into_owned();
            for (i, subj) in subjects.iter().chain(std::iter::once(&lossy)).enumerate() {
                let v = (i % 4) as u8;
                let ok = s.insert(subj, q.as_deref(), v).is_ok();
                prop_assert_eq!(ok, subject::is_valid_subject(subj));
                let _ = s.matches(subj);
                let _ = s.has_interest(subj);
                if ok && subject::is_literal(subj) {
                    let r = s.matches(subj);
                    let found = match q.as_deref().filter(|q| !q.is_empty()) {
                        None => r.plain.contains(&v),
                        Some(q) => r.queue(q).is_some_and(|m| m.contains(&v)),
                    };
                    prop_assert!(found, "{:?} does not match itself", subj);
                }
            }
            for (i, subj) in subjects.iter().enumerate() {
                let _ = s.remove(subj, q.as_deref(), &((i % 4) as u8));
            }
            let _ = s.remove(&lossy, None, &0);
            let _ = s.all_subscriptions();
            let _ = s.remove_all(|_| true);
            prop_assert!(s.is_empty());
            prop_assert_eq!(s.node_count(), 1);
        }
    }
}
