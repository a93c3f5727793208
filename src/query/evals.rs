//! What a query cost: distance evaluations by kind, and their weight for the planner.

/// Distance evaluations of one query.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Evals {
    /// Approximate evaluations of tree nodes (one at a time or as a child block).
    pub(crate) approx: u64,
    /// Canonical evaluations.
    pub(crate) exact: u64,
    /// Rows measured in one pass over a bucket's block (scan-priced).
    pub(crate) rows: u64,
    /// Points handed to the query's result for ranking (not evaluations: a node's
    /// duplicates share its distance).
    pub(crate) offers: u64,
}

impl std::ops::Add for Evals {
    type Output = Evals;
    fn add(self, o: Evals) -> Evals {
        Evals {
            approx: self.approx + o.approx,
            exact: self.exact + o.exact,
            rows: self.rows + o.rows,
            offers: self.offers + o.offers,
        }
    }
}

impl Evals {
    /// All evaluations.
    pub(crate) fn total(self) -> u64 {
        self.approx + self.exact + self.rows
    }

    /// The cost in scan rows: a tree evaluation (approximate or canonical) costs
    /// `tree_cost` rows, a bucket row one.
    pub(crate) fn cost(self, tree_cost: f64) -> f64 {
        (self.approx + self.exact) as f64 * tree_cost + self.rows as f64
    }
}
