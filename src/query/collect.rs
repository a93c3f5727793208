//! What a search collects, shared by the tree search, the scans and the k-d search:
//! the k best or everything within a radius, each point known by an interval of its
//! canonical distance until [`super::resolve`] measures the survivors.

use std::collections::BinaryHeap;

/// A candidate: lower bound of its canonical distance, node position, point id.
pub(super) type Cand = (f64, u32, u32);

/// What the search collects: the k best, or everything within a radius.
pub(crate) trait Collector {
    /// No admitted point with a lower bound above this can be in the answer.
    fn threshold(&self) -> f64;
    /// A point known by its interval; `pos` is the node whose row holds it.
    fn offer(&mut self, lower: f64, upper: f64, pos: u32, id: u32);
    /// `Some(k)` where the threshold will be the k-th smallest upper bound offered (or
    /// the cap, if smaller) and fewer than k are known yet (k-NN), `None` otherwise
    /// (range: a fixed threshold).
    fn loose_k(&self) -> Option<usize> {
        None
    }
    /// How many of a node's duplicates (which tie with it) can matter: k for k-NN,
    /// all of them for range.
    fn dup_cap(&self) -> usize {
        usize::MAX
    }
}

/// The k nearest: k smallest upper bounds for the threshold, candidates for the end.
#[derive(Default)]
pub(crate) struct KnnCollector {
    pub(super) k: usize,
    /// The k smallest upper bounds seen (bit patterns of non-negative floats order
    /// like the floats), as a max-heap.
    pub(super) uppers: BinaryHeap<u64>,
    pub(super) cands: Vec<Cand>,
    /// The largest of `uppers` once k are known, else the cap given to `reset`.
    pub(super) threshold: f64,
    /// Candidates are filtered by the threshold when there are this many (doubling
    /// when most survive, so the filtering stays linear overall).
    pub(super) limit: usize,
}

impl KnnCollector {
    /// Empties the collector for a query with `k` neighbours whose k-th canonical
    /// distance is known to be at most `cap` (+∞ when nothing is known).
    pub(crate) fn reset(&mut self, k: usize, cap: f64) {
        self.k = k;
        self.uppers.clear();
        self.cands.clear();
        // Never above the cap: only uppers below the threshold enter `uppers`.
        self.threshold = cap;
        self.limit = 4 * k + 64;
    }

    /// Candidates offered and not yet filtered out: `(lower bound, position, id)`.
    pub(crate) fn candidates(&self) -> &[Cand] {
        &self.cands
    }
}

impl Collector for KnnCollector {
    #[inline]
    fn threshold(&self) -> f64 {
        self.threshold
    }

    #[inline]
    fn loose_k(&self) -> Option<usize> {
        (self.uppers.len() < self.k).then_some(self.k)
    }

    #[inline]
    fn dup_cap(&self) -> usize {
        self.k
    }

    #[inline]
    fn offer(&mut self, lower: f64, upper: f64, pos: u32, id: u32) {
        if lower > self.threshold {
            return;
        }
        self.cands.push((lower, pos, id));
        if upper < self.threshold {
            if self.uppers.len() == self.k {
                // Replace the largest in place: one sift instead of a pop and a push.
                if let Some(mut top) = self.uppers.peek_mut() {
                    *top = upper.to_bits();
                }
            } else {
                self.uppers.push(upper.to_bits());
            }
            if self.uppers.len() == self.k {
                // Only uppers below the threshold (hence below the cap) enter, so the
                // k-th of them is the smaller of the two.
                self.threshold = f64::from_bits(*self.uppers.peek().expect("k ≥ 1 bounds"));
            }
        }
        if self.cands.len() >= self.limit {
            let t = self.threshold;
            self.cands.retain(|c| c.0 <= t);
            self.limit = (4 * self.k + 64).max(2 * self.cands.len());
        }
    }
}

/// Everything within `r`.
#[derive(Default)]
pub(crate) struct RangeCollector {
    pub(super) r: f64,
    pub(super) cands: Vec<Cand>,
}

impl Collector for RangeCollector {
    #[inline]
    fn threshold(&self) -> f64 {
        self.r
    }
    #[inline]
    fn offer(&mut self, lower: f64, _upper: f64, pos: u32, id: u32) {
        if lower <= self.r {
            self.cands.push((lower, pos, id));
        }
    }
}
