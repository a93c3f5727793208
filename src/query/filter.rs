//! Which points a query may return: all, all but one id (self-kNN), or only ids below
//! one (predecessor-constrained), and whether a subtree may hold any of them.

/// Which points a query may return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Filter {
    /// Every point.
    All,
    /// Every point but this id (self-kNN: the point itself, not its duplicates).
    Except(u32),
    /// Only ids below this one (predecessor-constrained).
    Below(u32),
}

impl Filter {
    #[inline]
    pub(super) fn admits(self, id: u32) -> bool {
        match self {
            Filter::All => true,
            Filter::Except(x) => id != x,
            Filter::Below(x) => id < x,
        }
    }

    /// Whether a subtree whose smallest id is `min_id` may hold an admitted point.
    #[inline]
    pub(super) fn subtree_may_admit(self, min_id: u32) -> bool {
        match self {
            Filter::Below(x) => min_id < x,
            _ => true,
        }
    }
}
