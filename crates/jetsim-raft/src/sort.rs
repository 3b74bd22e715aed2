//! One small stable sort for the whole page (jetsim-raft, jetsim-core as
//! `jetsim_core::sort`, the web crate), instead of the standard library's
//! `sort*`/`sort_unstable*`.
//!
//! Why: `slice::sort` and friends are generic over the element type and the
//! comparator, and each instantiation brings its own copy of driftsort or
//! ipnsort (several KB of wasm each); a profile of the page found 14 of them
//! (208 functions, 75 KB of code before wasm-opt). Here the generic part is only an insertion sort for
//! short slices and the application of a permutation; longer slices are
//! ordered by one non-generic merge sort over indices (`order`) that calls the
//! comparison through `&mut dyn FnMut`, so its code exists once.
//!
//! Every function here is **stable** (equal elements keep their order), like
//! `slice::sort`. Where the standard library's unstable sort was replaced, the
//! elements that compare equal are identical (integers, tuples ordered by all
//! their fields), so the result is the same.

use std::cmp::Ordering;

/// Up to this length the generic insertion sort runs (no allocation).
const SMALL: usize = 16;

/// Stable sort of `v` by `less(a, b)` ("a must come before b").
pub fn sort_by_less<T>(v: &mut [T], mut less: impl FnMut(&T, &T) -> bool) {
    let n = v.len();
    if n < 2 {
        return;
    }
    if n <= SMALL {
        for i in 1..n {
            let mut j = i;
            while j > 0 && less(&v[j], &v[j - 1]) {
                v.swap(j, j - 1);
                j -= 1;
            }
        }
        return;
    }
    let mut perm = order(n, &mut |i, j| less(&v[i], &v[j]));
    apply(v, &mut perm);
}

/// Stable sort of `v` in ascending order (`slice::sort`).
pub fn sort<T: Ord>(v: &mut [T]) {
    sort_by_less(v, |a, b| a < b)
}

/// Stable sort of `v` by a comparator (`slice::sort_by`).
pub fn sort_by<T>(v: &mut [T], mut cmp: impl FnMut(&T, &T) -> Ordering) {
    sort_by_less(v, |a, b| cmp(a, b) == Ordering::Less)
}

/// Stable sort of `v` by a key (`slice::sort_by_key`).
pub fn sort_by_key<T, K: Ord>(v: &mut [T], mut key: impl FnMut(&T) -> K) {
    sort_by_less(v, |a, b| key(a) < key(b))
}

/// The stable order of `n` elements under `less(i, j)` (indices of the
/// original positions): `perm[k]` is the original index of the element that
/// goes to position `k`. Bottom-up merge sort; not generic.
fn order(n: usize, less: &mut dyn FnMut(usize, usize) -> bool) -> Vec<u32> {
    let mut a: Vec<u32> = (0..n as u32).collect();
    // Sorted runs of up to 8 by insertion first (fewer passes).
    const RUN: usize = 8;
    let mut s = 0;
    while s < n {
        let e = (s + RUN).min(n);
        for i in s + 1..e {
            let mut j = i;
            while j > s && less(a[j] as usize, a[j - 1] as usize) {
                a.swap(j, j - 1);
                j -= 1;
            }
        }
        s = e;
    }
    let mut b: Vec<u32> = vec![0; n];
    let mut width = RUN;
    while width < n {
        let mut lo = 0;
        while lo < n {
            let mid = (lo + width).min(n);
            let hi = (lo + 2 * width).min(n);
            let (mut i, mut j, mut k) = (lo, mid, lo);
            while i < mid && j < hi {
                // Take from the right only if strictly less: stable.
                if less(a[j] as usize, a[i] as usize) {
                    b[k] = a[j];
                    j += 1;
                } else {
                    b[k] = a[i];
                    i += 1;
                }
                k += 1;
            }
            b[k..k + (mid - i)].copy_from_slice(&a[i..mid]);
            k += mid - i;
            b[k..k + (hi - j)].copy_from_slice(&a[j..hi]);
            lo = hi;
        }
        std::mem::swap(&mut a, &mut b);
        width *= 2;
    }
    a
}

/// Rearranges `v` so that `v[k]` becomes the old `v[perm[k]]`, by swaps along
/// the permutation's cycles; `perm` is used up (entries set to their index).
fn apply<T>(v: &mut [T], perm: &mut [u32]) {
    for start in 0..v.len() {
        let mut j = start;
        loop {
            let k = perm[j] as usize;
            perm[j] = j as u32;
            if k == start || k == j {
                break;
            }
            v.swap(j, k);
            j = k;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The crate's test generator (splitmix64) for the inputs.
    use crate::tests::SplitMix as Rng;
    use crate::Entropy;

    fn check_len(rng: &mut Rng, n: usize, range: u64) {
        let v: Vec<(u64, usize)> = (0..n).map(|i| (rng.next_u64() % range, i)).collect();
        // Key only on the first field: ties keep input order (the second field).
        let mut ours = v.clone();
        sort_by_key(&mut ours, |x| x.0);
        let mut std_ = v.clone();
        std_.sort_by_key(|x| x.0);
        assert_eq!(ours, std_, "n={n} range={range}");
        let mut ours = v.clone();
        sort(&mut ours);
        let mut std_ = v;
        std_.sort_unstable();
        assert_eq!(ours, std_, "n={n} range={range}");
    }

    #[test]
    fn matches_std_stable_sort_on_random_input_with_ties() {
        let mut rng = Rng(7);
        for n in (0..70).chain([100, 127, 128, 129, 1000, 4097]) {
            for range in [1, 3, 50, u64::MAX] {
                check_len(&mut rng, n, range);
            }
        }
    }

    #[test]
    fn sort_by_reverses_and_keeps_ties_in_order() {
        let mut v: Vec<(u32, char)> = vec![(1, 'a'), (3, 'b'), (1, 'c'), (2, 'd'), (3, 'e')];
        v.extend((0..40).map(|i| (i % 4, 'z')));
        let mut want = v.clone();
        want.sort_by(|a, b| b.0.cmp(&a.0));
        sort_by(&mut v, |a, b| b.0.cmp(&a.0));
        assert_eq!(v, want);
        assert_eq!(v[0], (3, 'b'));
        assert_eq!(v[1], (3, 'e'));
    }

    #[test]
    fn apply_follows_cycles() {
        let mut v = vec!['a', 'b', 'c', 'd', 'e'];
        let mut p = vec![2, 0, 1, 4, 3];
        apply(&mut v, &mut p);
        assert_eq!(v, vec!['c', 'a', 'b', 'e', 'd']);
    }
}
