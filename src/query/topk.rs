//! A fixed-capacity buffer of the k best `(distance, id)` pairs, ties by id: where every
//! k-NN answer ends, and the brute force's collector of exact offers.

use super::collect::Collector;

/// The k smallest `(distance, id)` pairs seen so far, sorted ascending.
#[derive(Debug, Default)]
pub(crate) struct TopK {
    k: usize,
    items: Vec<(f64, u32)>,
}

impl TopK {
    /// Empties the buffer for a new query with capacity `k` (no allocation once warm).
    pub(crate) fn reset(&mut self, k: usize) {
        self.k = k;
        self.items.clear();
        self.items.reserve(k);
    }

    /// The distance a candidate must not exceed to enter: the k-th distance when
    /// full, +∞ before. Candidates *equal* to it may still enter on a smaller id.
    #[inline]
    pub(crate) fn threshold(&self) -> f64 {
        if self.items.len() < self.k {
            f64::INFINITY
        } else {
            self.items[self.k - 1].0
        }
    }

    /// Offers a candidate; keeps it if it is among the k smallest by (distance, id).
    /// Insertion from the back: a candidate that enters usually lands near the end, so
    /// a short shift beats a binary search and a `memmove` call for small k.
    #[inline]
    pub(crate) fn push(&mut self, d: f64, id: u32) {
        // `(d, id) < (a, b)` on plain comparisons (distances are never NaN here).
        let before = |a: &(f64, u32)| d < a.0 || (d == a.0 && id < a.1);
        let items = &mut self.items;
        let mut j = items.len();
        if j == self.k {
            if !before(&items[j - 1]) {
                return;
            }
            j -= 1; // the last one drops out
        } else {
            items.push((d, id));
        }
        while j > 0 && before(&items[j - 1]) {
            items[j] = items[j - 1];
            j -= 1;
        }
        items[j] = (d, id);
    }

    /// The ids kept so far, nearest first.
    pub(crate) fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.items.iter().map(|&(_, id)| id)
    }

    /// Writes the result row, padding with `(NONE, +∞)` when fewer than k were found.
    pub(crate) fn write(&self, ids: &mut [u32], dists: &mut [f64]) {
        for (j, (i, d)) in ids.iter_mut().zip(dists.iter_mut()).enumerate() {
            (*d, *i) = self
                .items
                .get(j)
                .copied()
                .unwrap_or((f64::INFINITY, crate::tree::NONE));
        }
    }
}

/// Exact offers only (`lower = upper`, a canonical distance), as the brute force makes
/// them; the engine's searches offer intervals to [`super::collect::KnnCollector`] and
/// rank the survivors here.
impl Collector for TopK {
    #[inline]
    fn threshold(&self) -> f64 {
        TopK::threshold(self)
    }
    #[inline]
    fn offer(&mut self, lower: f64, upper: f64, _pos: u32, id: u32) {
        debug_assert_eq!(lower.to_bits(), upper.to_bits(), "TopK takes exact offers only");
        self.push(upper, id)
    }
}

#[cfg(test)]
mod tests {
    use super::TopK;
    use crate::datagen::Rng;

    /// Against a full sort: many ties in distance (broken by id), every k, ids offered
    /// in any order, the threshold after every push.
    #[test]
    fn keeps_the_k_smallest_by_distance_then_id() {
        let mut rng = Rng::new(17);
        let mut top = TopK::default();
        for k in [1, 2, 3, 8, 30, 100] {
            for round in 0..50 {
                let n = rng.below(150) as usize;
                let all: Vec<(f64, u32)> = (0..n)
                    .map(|_| (rng.below(20) as f64 * 0.5, rng.below(1000) as u32))
                    .collect();
                top.reset(k);
                let mut seen = Vec::new();
                for &(d, id) in &all {
                    top.push(d, id);
                    seen.push((d, id));
                    let mut want = seen.clone();
                    want.sort_by(|a, b| a.partial_cmp(b).unwrap());
                    want.truncate(k);
                    assert_eq!(top.items, want, "k {k} round {round}");
                    let t = if want.len() < k {
                        f64::INFINITY
                    } else {
                        want[k - 1].0
                    };
                    assert_eq!(top.threshold(), t, "k {k} round {round}");
                }
            }
        }
    }
}
