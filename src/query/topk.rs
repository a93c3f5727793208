//! A fixed-capacity buffer of the k best `(distance, id)` pairs, ties by id.

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
    #[inline]
    pub(crate) fn push(&mut self, d: f64, id: u32) {
        let full = self.items.len() == self.k;
        if full && (d, id) >= self.items[self.k - 1] {
            return;
        }
        let at = self.items.partition_point(|&e| e < (d, id));
        if full {
            self.items.pop();
        }
        self.items.insert(at, (d, id));
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
