//! The reference builder: one point at a time, lowest feasible level (DESIGN.md §2).

use super::{Growing, Tree, BUCKET};
use crate::metric::Metric;
use crate::{Error, Result};

/// The tree of `metric`'s points inserted one at a time, in id order.
pub(crate) fn build<M: Metric>(metric: M) -> Result<Tree<M>> {
    let n = metric.len();
    if n == 0 {
        return Err(Error::invalid("data", "no points to build a tree from".into()));
    }
    let mut g = Growing::new(n);
    let mut stack = Vec::new();
    for x in 0..n as u32 {
        g.insert(&metric, x, &mut stack);
    }
    Ok(g.freeze(&metric, n, BUCKET, false))
}
