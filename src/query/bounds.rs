//! Bound arithmetic: approximations and raw block values turned into intervals of the
//! canonical distance, and a cheap bound of a block's k-th smallest value.
//!
//!
//! **Deferred exactness.** During the search every point is known only through an
//! interval `[lower, upper]` around its canonical distance, from the block kernels
//! and [`Metric::errors`]. The k-NN threshold is the k-th smallest *upper*
//! bound seen, capped by a bound known before the search (the k-th smallest upper
//! bound to the points of the previous query of the block, [`Scratch::prior_cap`](super::scratch::Scratch));
//! neither is ever below the k-th canonical distance; a point or subtree
//! is dropped only when its lower bound exceeds it. Survivors are candidates, and
//! only they get a canonical distance at the end, where the answer is decided by
//! (canonical distance, id). Subtree bounds use `true ≥ canonical/(1+δ)` and
//! `canonical ≥ true·(1−δ)` around the triangle inequality, so rounding can only
//! make the search look further, never drop a neighbour.

use crate::metric::{approx_one, pair_interval, Metric, Raw, Slack};
use crate::tree::SketchForm;

/// How a block's raw values turn into bounds of canonical distances ([`offer_raw`](super::offer::offer_raw)).
pub(super) trait RawForm {
    /// Bounds `(lower, upper)` of the canonical distance of a row with raw value `raw`.
    fn interval(&self, raw: f64) -> (f64, f64);
    /// A raw limit: every row whose lower bound is `≤ t` has a raw value `≤` it.
    fn limit(&self, t: f64) -> f64;
    /// Whether offered rows are to be prefetched: their canonical distances come later
    /// and the raw values were not read from their rows (sketches).
    const PREFETCH: bool = false;
}

/// The metric's own raw form ([`Metric::bounds`]) with its error bounds, read from the
/// metric once.
#[derive(Clone, Copy)]
pub(super) struct MetricForm {
    raw: Raw,
    err: Slack,
}

impl MetricForm {
    pub(super) fn new<M: Metric>(m: &M) -> Self {
        MetricForm {
            raw: m.capabilities().raw,
            err: m.errors().approx_slack(),
        }
    }
}

impl RawForm for MetricForm {
    #[inline]
    fn interval(&self, raw: f64) -> (f64, f64) {
        let a = self.raw.to_distance(raw);
        (self.err.lower(a), self.err.upper(a))
    }
    #[inline]
    fn limit(&self, t: f64) -> f64 {
        // lower(a) ≤ t  ⇔  a ≤ t/down + abs.
        self.raw.bound(t / self.err.down + self.err.abs)
    }
}

impl RawForm for SketchForm {
    const PREFETCH: bool = true;
    #[inline]
    fn interval(&self, raw: f64) -> (f64, f64) {
        SketchForm::interval(self, raw)
    }
    #[inline]
    fn limit(&self, t: f64) -> f64 {
        SketchForm::limit(self, t)
    }
}

/// Bounds `[lower, upper]` of the canonical distance from query `q` to the row at `pos`,
/// measured alone: phase 1 for two-phase metrics (one pair), else one approximation widened by
/// the error bounds `err`.
#[inline]
pub(super) fn interval_one<M: Metric>(m: &M, qm: &M, q: u32, pos: u32, err: Slack) -> (f64, f64) {
    if m.capabilities().two_phase {
        pair_interval(m, qm, q, pos)
    } else {
        let a = approx_one(m, qm, q, pos);
        (err.lower(a), err.upper(a))
    }
}

/// Groups of [`kth_bound`]: rows `g`, `g + GROUPS`, `g + 2·GROUPS`, … form group `g`.
pub(super) const GROUPS: usize = 32;

/// An upper bound of the `k`-th smallest of `raw` (`k ≤ GROUPS`), `+∞` unless at
/// least k group minima are below `lim`: the k-th smallest of the groups' minima, which
/// are values of distinct rows. A few vector minima per row and a count, no branch per
/// row; the selection only where at least k minima are below `lim` (once the threshold
/// is tight, as in most blocks of a scan, the bound could not tighten it).
pub(super) fn kth_bound(raw: &[f64], k: usize, lim: f64) -> f64 {
    debug_assert!((1..=GROUPS).contains(&k));
    let mut mins = [f64::INFINITY; GROUPS];
    let mut chunks = raw.chunks_exact(GROUPS);
    let mut fold = |chunk: &[f64]| {
        for (m, &r) in mins.iter_mut().zip(chunk) {
            // NaN never replaces a minimum.
            *m = if r < *m { r } else { *m };
        }
    };
    for chunk in &mut chunks {
        fold(chunk);
    }
    fold(chunks.remainder());
    if mins.iter().map(|&m| (m < lim) as usize).sum::<usize>() < k {
        return f64::INFINITY;
    }
    *mins.select_nth_unstable_by(k - 1, f64::total_cmp).1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `kth_bound` is at least the k-th smallest and one of the values (or +∞ where
    /// NaN leaves fewer than k groups a value), for every k, lengths around multiples
    /// of the groups, ties and NaN.
    #[test]
    fn kth_bound_is_a_value_at_least_the_kth_smallest() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for len in [2 * GROUPS, 2 * GROUPS + 1, 3 * GROUPS - 1, 100, 513] {
            for case in 0..20 {
                let raw: Vec<f64> = (0..len)
                    .map(|_| match case % 4 {
                        0 => (next() % 1000) as f64,
                        1 => (next() % 4) as f64, // many ties
                        2 if next() % 10 == 0 => f64::NAN,
                        _ => (next() >> 11) as f64 / (1u64 << 53) as f64,
                    })
                    .collect();
                let mut sorted: Vec<f64> = raw.iter().copied().filter(|r| !r.is_nan()).collect();
                sorted.sort_by(f64::total_cmp);
                for k in 1..=GROUPS {
                    // Below a limit under the k-th smallest there is no bound.
                    assert_eq!(kth_bound(&raw, k, sorted[k - 1]), f64::INFINITY);
                    let b = kth_bound(&raw, k, f64::INFINITY);
                    assert!(
                        b >= sorted[k - 1],
                        "len {len}, case {case}, k {k}: {b} < {}",
                        sorted[k - 1]
                    );
                    if b.is_finite() {
                        assert!(raw.contains(&b), "len {len}, case {case}, k {k}: {b} is no value");
                    } else {
                        // Only where NaN left fewer than k groups with a value.
                        assert!(case % 4 == 2, "len {len}, case {case}, k {k}: no bound");
                    }
                }
            }
        }
    }
}
