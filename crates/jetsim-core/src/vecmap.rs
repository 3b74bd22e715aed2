//! Sorted-`Vec` map and set with the subset of `BTreeMap`/`BTreeSet`'s API the
//! simulator uses, for the many small maps of the core (connections of a
//! server, streams of a node, pending requests of a client, ...).
//!
//! Why: every `BTreeMap<K, V>` instantiation brings several KB of node
//! splitting/merging code into the page's wasm; about a fifth of the wasm's
//! function bodies was `alloc::collections::btree` code. A sorted vector needs
//! a binary search and `Vec::insert`/`Vec::remove`, a fraction of that code.
//!
//! Semantics are those of `BTreeMap`: keys unique, iteration in ascending key
//! order (deterministic), `insert` replaces the value and keeps the old key,
//! `collect` keeps the last value of duplicate keys. Costs differ: lookups are
//! O(log n), inserting or removing in the middle moves the tail (O(n)), so use
//! it only where maps stay small or grow at the end; large maps (the message
//! store, the sublist) keep `BTreeMap`.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::ops::{Bound, RangeBounds};

/// A map kept as a `Vec<(K, V)>` sorted by key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct VecMap<K, V> {
    v: Vec<(K, V)>,
}

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap { v: Vec::new() }
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for VecMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.v.iter().map(|(k, v)| (k, v))).finish()
    }
}

impl<K, V> VecMap<K, V> {
    pub const fn new() -> Self {
        VecMap { v: Vec::new() }
    }
    pub fn len(&self) -> usize {
        self.v.len()
    }
    pub fn is_empty(&self) -> bool {
        self.v.is_empty()
    }
    pub fn clear(&mut self) {
        self.v.clear()
    }
    pub fn iter(&self) -> Iter<'_, K, V> {
        Iter(self.v.iter())
    }
    pub fn iter_mut(&mut self) -> IterMut<'_, K, V> {
        IterMut(self.v.iter_mut())
    }
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator + Clone {
        self.v.iter().map(|(k, _)| k)
    }
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator + Clone {
        self.v.iter().map(|(_, v)| v)
    }
    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut V> + ExactSizeIterator {
        self.v.iter_mut().map(|(_, v)| v)
    }
    pub fn into_keys(self) -> impl DoubleEndedIterator<Item = K> + ExactSizeIterator {
        self.v.into_iter().map(|(k, _)| k)
    }
    pub fn into_values(self) -> impl DoubleEndedIterator<Item = V> + ExactSizeIterator {
        self.v.into_iter().map(|(_, v)| v)
    }
    pub fn first_key_value(&self) -> Option<(&K, &V)> {
        self.v.first().map(|(k, v)| (k, v))
    }
    pub fn last_key_value(&self) -> Option<(&K, &V)> {
        self.v.last().map(|(k, v)| (k, v))
    }
    pub fn pop_first(&mut self) -> Option<(K, V)> {
        if self.v.is_empty() {
            None
        } else {
            Some(self.v.remove(0))
        }
    }
    pub fn pop_last(&mut self) -> Option<(K, V)> {
        self.v.pop()
    }
    /// Keeps the entries for which `f` returns true, in order.
    pub fn retain<F: FnMut(&K, &mut V) -> bool>(&mut self, mut f: F) {
        self.v.retain_mut(|(k, v)| f(k, v))
    }
}

impl<K: Ord, V> VecMap<K, V> {
    fn find<Q: Ord + ?Sized>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
    {
        self.v.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }
    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| &self.v[i].1)
    }
    pub fn get_key_value<Q: Ord + ?Sized>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| (&self.v[i].0, &self.v[i].1))
    }
    pub fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        match self.find(key) {
            Ok(i) => Some(&mut self.v[i].1),
            Err(_) => None,
        }
    }
    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.find(key).is_ok()
    }
    /// Inserts; on an existing key replaces the value (keeping the old key,
    /// as `BTreeMap` does) and returns the old value.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        // Fast path: keys often grow (sequence numbers, ids).
        match self.v.last() {
            None => {
                self.v.push((key, value));
                return None;
            }
            Some((last, _)) if *last < key => {
                self.v.push((key, value));
                return None;
            }
            _ => {}
        }
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.v[i].1, value)),
            Err(i) => {
                self.v.insert(i, (key, value));
                None
            }
        }
    }
    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.remove_entry(key).map(|(_, v)| v)
    }
    pub fn remove_entry<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
    {
        match self.find(key) {
            Ok(i) => Some(self.v.remove(i)),
            Err(_) => None,
        }
    }
    pub fn entry(&mut self, key: K) -> Entry<'_, K, V> {
        match self.find(&key) {
            Ok(i) => Entry::Occupied(OccupiedEntry { map: self, i }),
            Err(i) => Entry::Vacant(VacantEntry { map: self, i, key }),
        }
    }
    fn bounds<Q: Ord + ?Sized, R: RangeBounds<Q>>(&self, range: &R) -> (usize, usize)
    where
        K: Borrow<Q>,
    {
        let lo = match range.start_bound() {
            Bound::Included(x) => self.v.partition_point(|(k, _)| k.borrow() < x),
            Bound::Excluded(x) => self.v.partition_point(|(k, _)| k.borrow() <= x),
            Bound::Unbounded => 0,
        };
        let hi = match range.end_bound() {
            Bound::Included(x) => self.v.partition_point(|(k, _)| k.borrow() <= x),
            Bound::Excluded(x) => self.v.partition_point(|(k, _)| k.borrow() < x),
            Bound::Unbounded => self.v.len(),
        };
        // BTreeMap panics on an inverted range; an empty range never panics.
        (lo, hi.max(lo))
    }
    /// Entries with keys in `range`, ascending. An inverted range is empty
    /// (where `BTreeMap::range` would panic).
    pub fn range<Q: Ord + ?Sized, R: RangeBounds<Q>>(&self, range: R) -> Iter<'_, K, V>
    where
        K: Borrow<Q>,
    {
        let (lo, hi) = self.bounds(&range);
        Iter(self.v[lo..hi].iter())
    }
    pub fn range_mut<Q: Ord + ?Sized, R: RangeBounds<Q>>(&mut self, range: R) -> IterMut<'_, K, V>
    where
        K: Borrow<Q>,
    {
        let (lo, hi) = self.bounds(&range);
        IterMut(self.v[lo..hi].iter_mut())
    }
    /// Moves all of `other` into `self` (other's value wins on equal keys).
    pub fn append(&mut self, other: &mut Self) {
        for (k, v) in other.v.drain(..) {
            self.insert(k, v);
        }
    }
    /// Splits off the entries with keys ≥ `key`.
    pub fn split_off<Q: Ord + ?Sized>(&mut self, key: &Q) -> Self
    where
        K: Borrow<Q>,
    {
        let i = self.v.partition_point(|(k, _)| k.borrow() < key);
        VecMap { v: self.v.split_off(i) }
    }
}

impl<K: Ord, V> Extend<(K, V)> for VecMap<K, V> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for VecMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut m = VecMap::new();
        m.extend(iter);
        m
    }
}

impl<K: Ord, V, const N: usize> From<[(K, V); N]> for VecMap<K, V> {
    fn from(a: [(K, V); N]) -> Self {
        a.into_iter().collect()
    }
}

impl<K: Ord + Borrow<Q>, Q: Ord + ?Sized, V> std::ops::Index<&Q> for VecMap<K, V> {
    type Output = V;
    fn index(&self, key: &Q) -> &V {
        self.get(key).expect("no entry found for key")
    }
}

impl<K: PartialOrd, V: PartialOrd> PartialOrd for VecMap<K, V> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.v.partial_cmp(&other.v)
    }
}

impl<K: Ord, V: Ord> Ord for VecMap<K, V> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.v.cmp(&other.v)
    }
}

/// Iterator over `(&K, &V)` in key order.
#[derive(Clone)]
pub struct Iter<'a, K, V>(std::slice::Iter<'a, (K, V)>);

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (k, v))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}
impl<K, V> DoubleEndedIterator for Iter<'_, K, V> {
    #[inline]
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(k, v)| (k, v))
    }
}
impl<K, V> ExactSizeIterator for Iter<'_, K, V> {}

/// Iterator over `(&K, &mut V)` in key order.
pub struct IterMut<'a, K, V>(std::slice::IterMut<'a, (K, V)>);

impl<'a, K, V> Iterator for IterMut<'a, K, V> {
    type Item = (&'a K, &'a mut V);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (&*k, v))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}
impl<K, V> DoubleEndedIterator for IterMut<'_, K, V> {
    #[inline]
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(k, v)| (&*k, v))
    }
}
impl<K, V> ExactSizeIterator for IterMut<'_, K, V> {}

impl<'a, K, V> IntoIterator for &'a VecMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;
    fn into_iter(self) -> Iter<'a, K, V> {
        self.iter()
    }
}
impl<'a, K, V> IntoIterator for &'a mut VecMap<K, V> {
    type Item = (&'a K, &'a mut V);
    type IntoIter = IterMut<'a, K, V>;
    fn into_iter(self) -> IterMut<'a, K, V> {
        self.iter_mut()
    }
}
impl<K, V> IntoIterator for VecMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.v.into_iter()
    }
}

/// `VecMap::entry`'s answer, as `btree_map::Entry`.
pub enum Entry<'a, K, V> {
    Occupied(OccupiedEntry<'a, K, V>),
    Vacant(VacantEntry<'a, K, V>),
}
pub struct OccupiedEntry<'a, K, V> {
    map: &'a mut VecMap<K, V>,
    i: usize,
}
pub struct VacantEntry<'a, K, V> {
    map: &'a mut VecMap<K, V>,
    i: usize,
    key: K,
}

impl<'a, K, V> Entry<'a, K, V> {
    pub fn or_insert(self, default: V) -> &'a mut V {
        match self {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(default),
        }
    }
    pub fn or_insert_with<F: FnOnce() -> V>(self, f: F) -> &'a mut V {
        match self {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(f()),
        }
    }
    pub fn or_default(self) -> &'a mut V
    where
        V: Default,
    {
        self.or_insert_with(V::default)
    }
    pub fn and_modify<F: FnOnce(&mut V)>(mut self, f: F) -> Self {
        if let Entry::Occupied(e) = &mut self {
            f(e.get_mut());
        }
        self
    }
    pub fn key(&self) -> &K {
        match self {
            Entry::Occupied(e) => e.key(),
            Entry::Vacant(e) => &e.key,
        }
    }
}
impl<'a, K, V> OccupiedEntry<'a, K, V> {
    pub fn key(&self) -> &K {
        &self.map.v[self.i].0
    }
    pub fn get(&self) -> &V {
        &self.map.v[self.i].1
    }
    pub fn get_mut(&mut self) -> &mut V {
        &mut self.map.v[self.i].1
    }
    pub fn into_mut(self) -> &'a mut V {
        &mut self.map.v[self.i].1
    }
    pub fn insert(&mut self, value: V) -> V {
        std::mem::replace(self.get_mut(), value)
    }
    pub fn remove(self) -> V {
        self.map.v.remove(self.i).1
    }
    pub fn remove_entry(self) -> (K, V) {
        self.map.v.remove(self.i)
    }
}
impl<'a, K, V> VacantEntry<'a, K, V> {
    pub fn key(&self) -> &K {
        &self.key
    }
    pub fn into_key(self) -> K {
        self.key
    }
    pub fn insert(self, value: V) -> &'a mut V {
        self.map.v.insert(self.i, (self.key, value));
        &mut self.map.v[self.i].1
    }
}

impl<K: serde::Serialize, V: serde::Serialize> serde::Serialize for VecMap<K, V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de, K: serde::Deserialize<'de> + Ord, V: serde::Deserialize<'de>> serde::Deserialize<'de> for VecMap<K, V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<K, V>(std::marker::PhantomData<(K, V)>);
        impl<'de, K: serde::Deserialize<'de> + Ord, V: serde::Deserialize<'de>> serde::de::Visitor<'de> for Visit<K, V> {
            type Value = VecMap<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                let mut m = VecMap::new();
                while let Some((k, v)) = a.next_entry()? {
                    m.insert(k, v);
                }
                Ok(m)
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
    }
}

/// A set kept as a sorted `Vec<T>`, with `BTreeSet`'s semantics.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VecSet<T> {
    v: Vec<T>,
}

impl<T> Default for VecSet<T> {
    fn default() -> Self {
        VecSet { v: Vec::new() }
    }
}

impl<T: fmt::Debug> fmt::Debug for VecSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.v.iter()).finish()
    }
}

impl<T> VecSet<T> {
    pub const fn new() -> Self {
        VecSet { v: Vec::new() }
    }
    pub fn len(&self) -> usize {
        self.v.len()
    }
    pub fn is_empty(&self) -> bool {
        self.v.is_empty()
    }
    pub fn clear(&mut self) {
        self.v.clear()
    }
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.v.iter()
    }
    pub fn first(&self) -> Option<&T> {
        self.v.first()
    }
    pub fn last(&self) -> Option<&T> {
        self.v.last()
    }
    pub fn pop_first(&mut self) -> Option<T> {
        if self.v.is_empty() {
            None
        } else {
            Some(self.v.remove(0))
        }
    }
    pub fn pop_last(&mut self) -> Option<T> {
        self.v.pop()
    }
    pub fn retain<F: FnMut(&T) -> bool>(&mut self, f: F) {
        self.v.retain(f)
    }
}

impl<T: Ord> VecSet<T> {
    fn find<Q: Ord + ?Sized>(&self, x: &Q) -> Result<usize, usize>
    where
        T: Borrow<Q>,
    {
        self.v.binary_search_by(|e| e.borrow().cmp(x))
    }
    pub fn contains<Q: Ord + ?Sized>(&self, x: &Q) -> bool
    where
        T: Borrow<Q>,
    {
        self.find(x).is_ok()
    }
    pub fn get<Q: Ord + ?Sized>(&self, x: &Q) -> Option<&T>
    where
        T: Borrow<Q>,
    {
        self.find(x).ok().map(|i| &self.v[i])
    }
    /// Inserts; false (and the set unchanged, old element kept) if present.
    pub fn insert(&mut self, x: T) -> bool {
        match self.v.last() {
            None => {
                self.v.push(x);
                return true;
            }
            Some(last) if *last < x => {
                self.v.push(x);
                return true;
            }
            _ => {}
        }
        match self.find(&x) {
            Ok(_) => false,
            Err(i) => {
                self.v.insert(i, x);
                true
            }
        }
    }
    pub fn remove<Q: Ord + ?Sized>(&mut self, x: &Q) -> bool
    where
        T: Borrow<Q>,
    {
        self.take(x).is_some()
    }
    pub fn take<Q: Ord + ?Sized>(&mut self, x: &Q) -> Option<T>
    where
        T: Borrow<Q>,
    {
        match self.find(x) {
            Ok(i) => Some(self.v.remove(i)),
            Err(_) => None,
        }
    }
    /// Elements in `range`, ascending; an inverted range is empty.
    pub fn range<Q: Ord + ?Sized, R: RangeBounds<Q>>(&self, range: R) -> std::slice::Iter<'_, T>
    where
        T: Borrow<Q>,
    {
        let lo = match range.start_bound() {
            Bound::Included(x) => self.v.partition_point(|k| k.borrow() < x),
            Bound::Excluded(x) => self.v.partition_point(|k| k.borrow() <= x),
            Bound::Unbounded => 0,
        };
        let hi = match range.end_bound() {
            Bound::Included(x) => self.v.partition_point(|k| k.borrow() <= x),
            Bound::Excluded(x) => self.v.partition_point(|k| k.borrow() < x),
            Bound::Unbounded => self.v.len(),
        };
        self.v[lo..hi.max(lo)].iter()
    }
    /// Elements of `self` not in `other`, ascending (`BTreeSet::difference`).
    pub fn difference<'a>(&'a self, other: &'a Self) -> impl Iterator<Item = &'a T> + 'a {
        self.v.iter().filter(move |x| !other.contains(*x))
    }
    pub fn is_subset(&self, other: &Self) -> bool {
        self.v.iter().all(|x| other.contains(x))
    }
}

impl<T: Ord> Extend<T> for VecSet<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        for x in iter {
            self.insert(x);
        }
    }
}
impl<T: Ord> FromIterator<T> for VecSet<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut s = VecSet::new();
        s.extend(iter);
        s
    }
}
impl<T: Ord, const N: usize> From<[T; N]> for VecSet<T> {
    fn from(a: [T; N]) -> Self {
        a.into_iter().collect()
    }
}
impl<'a, T> IntoIterator for &'a VecSet<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.v.iter()
    }
}
impl<T> IntoIterator for VecSet<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.v.into_iter()
    }
}

impl<T: serde::Serialize> serde::Serialize for VecSet<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.v.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use std::collections::{BTreeMap, BTreeSet};

    /// Random operations on a VecMap and a BTreeMap side by side: every
    /// answer and the iteration order must agree.
    #[test]
    fn map_matches_btreemap() {
        for seed in 0..40u64 {
            let mut rng = Rng::new(seed);
            let mut a: VecMap<u16, u32> = VecMap::new();
            let mut b: BTreeMap<u16, u32> = BTreeMap::new();
            for step in 0..600u32 {
                let k = (rng.next_u64() % 64) as u16;
                match rng.next_u64() % 9 {
                    0 | 1 | 2 => assert_eq!(a.insert(k, step), b.insert(k, step)),
                    3 => assert_eq!(a.remove(&k), b.remove(&k)),
                    4 => {
                        *a.entry(k).or_insert(7) += 1;
                        *b.entry(k).or_insert(7) += 1;
                    }
                    5 => assert_eq!(a.pop_first(), b.pop_first()),
                    6 => {
                        let hi = k.saturating_add((rng.next_u64() % 20) as u16);
                        let x: Vec<_> = a.range(k..hi).map(|(k, v)| (*k, *v)).collect();
                        let y: Vec<_> = b.range(k..hi).map(|(k, v)| (*k, *v)).collect();
                        assert_eq!(x, y);
                        let x: Vec<_> = a.range(..=k).rev().map(|(k, _)| *k).collect();
                        let y: Vec<_> = b.range(..=k).rev().map(|(k, _)| *k).collect();
                        assert_eq!(x, y);
                        let x: Vec<_> = a.range((Bound::Excluded(k), Bound::Unbounded)).map(|(k, _)| *k).collect();
                        let y: Vec<_> = b.range((Bound::Excluded(k), Bound::Unbounded)).map(|(k, _)| *k).collect();
                        assert_eq!(x, y);
                    }
                    7 => {
                        a.retain(|k, v| (*k as u32 + *v) % 5 != 0);
                        b.retain(|k, v| (*k as u32 + *v) % 5 != 0);
                    }
                    _ => assert_eq!(a.get(&k), b.get(&k)),
                }
                assert_eq!(a.len(), b.len());
                assert!(a.iter().map(|(k, v)| (*k, *v)).eq(b.iter().map(|(k, v)| (*k, *v))), "seed {seed} step {step}");
                assert_eq!(a.first_key_value(), b.first_key_value());
                assert_eq!(a.last_key_value(), b.last_key_value());
            }
        }
    }

    #[test]
    fn set_difference_matches_btreeset() {
        let a: VecSet<u32> = [5, 1, 9, 3, 7].into();
        let b: VecSet<u32> = [3, 4, 9].into();
        let (ba, bb): (BTreeSet<u32>, BTreeSet<u32>) = (a.iter().copied().collect(), b.iter().copied().collect());
        assert_eq!(a.difference(&b).collect::<Vec<_>>(), ba.difference(&bb).collect::<Vec<_>>());
        assert_eq!(b.difference(&a).collect::<Vec<_>>(), vec![&4]);
    }

    #[test]
    fn collect_keeps_last_duplicate_and_sorts() {
        let pairs = [(3, "a"), (1, "b"), (3, "c"), (2, "d")];
        let a: VecMap<i32, &str> = pairs.into_iter().collect();
        let b: BTreeMap<i32, &str> = pairs.into_iter().collect();
        assert!(a.iter().eq(b.iter()));
        assert_eq!(a[&3], "c");
        let s: VecSet<i32> = [5, 1, 5, 3].into_iter().collect();
        assert_eq!(s.iter().copied().collect::<Vec<_>>(), vec![1, 3, 5]);
    }

    #[test]
    fn set_matches_btreeset() {
        let mut rng = Rng::new(7);
        let mut a: VecSet<u8> = VecSet::new();
        let mut b: BTreeSet<u8> = BTreeSet::new();
        for _ in 0..2000 {
            let x = (rng.next_u64() % 50) as u8;
            match rng.next_u64() % 4 {
                0 | 1 => assert_eq!(a.insert(x), b.insert(x)),
                2 => assert_eq!(a.remove(&x), b.remove(&x)),
                _ => assert!(a.range(x..).eq(b.range(x..))),
            }
            assert!(a.iter().eq(b.iter()));
            assert_eq!(a.contains(&x), b.contains(&x));
        }
    }

    #[test]
    fn inverted_range_is_empty_not_a_panic() {
        let a: VecMap<u8, ()> = [(1, ()), (5, ())].into();
        #[allow(clippy::reversed_empty_ranges)]
        let n = a.range(4..2).count();
        assert_eq!(n, 0);
    }
}
