//! The end of every search: canonical distances for the candidates that survived.

use super::collect::Cand;
use super::evals::Evals;
use super::offer::window;
use crate::metric::Metric;
use crate::tree::Tree;

/// Scratch of [`resolve`]: the nodes to measure and their canonical distances.
#[derive(Default)]
pub(crate) struct Resolver {
    pub(super) pos: Vec<u32>,
    pub(super) dist: Vec<f64>,
}

/// Canonical distances for the candidates whose lower bound is within `threshold`,
/// each node measured once (its duplicates share the distance), all of them in one
/// [`Metric::distances`] call (several sums at a time where the metric can).
#[allow(clippy::too_many_arguments)]
pub(super) fn resolve<M: Metric>(
    tree: &Tree<M>,
    qm: &M,
    q: u32,
    cands: &[Cand],
    threshold: f64,
    rs: &mut Resolver,
    ev: &mut Evals,
    mut take: impl FnMut(f64, u32),
) {
    let Resolver { pos, dist } = rs;
    pos.clear();
    for &(lo, p, _) in cands {
        if lo > threshold {
            if tree.metric.capabilities().two_phase {
                tree.metric.rejected(qm, q, p, threshold);
            }
            continue;
        }
        // A node's duplicates are offered right after it.
        if pos.last() != Some(&p) {
            pos.push(p);
        }
    }
    ev.exact += pos.len() as u64;
    let dist = window(dist, pos.len());
    tree.metric.distances(qm, q, pos, dist);
    let mut r = 0;
    for &(lo, p, id) in cands {
        if lo > threshold {
            continue;
        }
        if pos[r] != p {
            r += 1;
        }
        debug_assert_eq!(pos[r], p);
        ev.offers += 1;
        take(dist[r], id);
    }
}
