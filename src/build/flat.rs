//! Flat trees, for metrics a tree cannot split (distances all alike, as with the
//! residual metric of a smooth model or uniform data in many dimensions): the smallest
//! id is the root and every other point its child, one level below. A search of such a
//! tree would measure nearly every point whatever its structure, and building a cover
//! tree there costs about n²/2 distances; the flat tree costs n.
//!
//! A flat tree keeps every invariant of [`Tree::validate`] but separation: levels
//! decrease, children are covered by the root (its level is that of the farthest
//! point), distances to the parent and radii are exact, and there are no duplicate
//! lists (points at distance 0 from each other are nodes like any other). Its queries
//! scan ([`Tree::is_flat`]); updates give flat trees again.

use super::{BatchStats, BuildStats};
use crate::job;
use crate::metric::Metric;
use crate::tree::{level_of, Growing, Tree, BUCKET};
use rayon::prelude::*;

/// Below this many points a quadratic build costs little; a flat tree is never chosen.
pub(crate) const MIN_POINTS: usize = 4096;
/// Neighbours the sample's reach is estimated for (a typical query's k).
const REACH_K: usize = 8;
/// Reach from which a metric counts as one a tree cannot split: a k-NN search would
/// measure at least half the points (the plan's "the tree cannot prune").
const FLAT_REACH: f64 = 0.5;

/// The sample's reach ([`job`]'s estimate for k = 8) and whether it found exact
/// duplicates, measured where a flat tree may be chosen: at least [`MIN_POINTS`] points.
pub(crate) fn reach<M: Metric>(metric: &M) -> Option<(f64, bool)> {
    (metric.len() >= MIN_POINTS).then(|| {
        let s = job::sample(metric, REACH_K);
        (s.reach, s.duplicates > 0)
    })
}

/// Whether [`crate::Flat::Auto`] builds a flat tree: the sample's reach is at least
/// [`FLAT_REACH`] and it holds no exact duplicates (a cover tree keeps those in lists,
/// which a flat tree does not, so that its queries would measure them all).
pub(crate) fn chosen(sample: Option<(f64, bool)>) -> bool {
    sample.is_some_and(|(reach, dups)| reach >= FLAT_REACH && !dups)
}

/// The flat tree over `ids` (ascending, not empty) of `metric` (indexed by id over
/// `0..n`), distances measured in parallel on the pool the caller runs inside.
pub(crate) fn build<M: Metric>(metric: &M, ids: &[u32], n: usize) -> Tree<M> {
    let root = ids[0];
    let dist: Vec<f64> = ids[1..]
        .par_iter()
        .with_min_len(256)
        .map(|&x| metric.distance(metric, root, x))
        .collect();
    let far = dist.iter().fold(0.0f64, |a, &d| a.max(d));
    // The root's level covers the farthest point; with all points at distance 0 any
    // level does.
    let top = if far > 0.0 { level_of(far) } else { 0 };
    let mut g = Growing::new(n);
    g.root = root;
    g.level[root as usize] = top;
    g.radius[root as usize] = far;
    for (&x, &d) in ids[1..].iter().zip(&dist) {
        let xi = x as usize;
        g.level[xi] = top - 1;
        g.parent[xi] = root;
        g.dist_parent[xi] = d;
    }
    g.children[root as usize] = ids[1..].to_vec();
    let mut tree = g.freeze(metric, n, BUCKET, true);
    tree.flat = true;
    tree
}

/// The stats of a flat build or update: one batch, the `placed` points put under the root.
pub(crate) fn stats(
    placed: usize,
    took: std::time::Duration,
    threads: usize,
    reach: Option<f64>,
) -> BuildStats {
    BuildStats {
        batches: vec![BatchStats {
            size: placed,
            apply: took,
            ..Default::default()
        }],
        total: took,
        threads,
        flat: true,
        reach,
        ..Default::default()
    }
}
