//! Per-worker query scratch and the per-query drivers: k-NN and range by tree
//! search or scan, with the prior bound carried from one query to the next.

use super::bounds::interval_one;
use super::collect::{Collector, KnnCollector, RangeCollector};
use super::evals::Evals;
use super::filter::Filter;
use super::resolve::{resolve, Resolver};
use super::scan::scan;
use super::topk::TopK;
use super::tree_search::{tree_search, Buffers};
use crate::metric::Metric;
use crate::tree::{KdIndex, KdScratch, Tree, NONE};

/// Per-worker scratch, reused across queries: nothing is allocated per query once warm.
#[derive(Default)]
pub(crate) struct Scratch {
    pub(crate) topk: TopK,
    pub(crate) hits: Vec<(f64, u32)>,
    pub(super) knn: KnnCollector,
    pub(super) range: RangeCollector,
    pub(super) bufs: Buffers,
    pub(super) kd: KdScratch,
    /// The ids of the previous k-NN answer of the block, and of that query itself
    /// where it is a point of the tree ([`Scratch::remember`]).
    pub(super) prior: Vec<u32>,
    /// Distance bounds to `prior` (scratch of [`Scratch::prior_cap`]).
    pub(super) prior_ups: Vec<f64>,
    pub(super) resolver: Resolver,
}

impl Scratch {
    /// k nearest of query `q` by tree search or scan; result in `self.topk`.
    pub(crate) fn knn<M: Metric>(
        &mut self,
        tree: &Tree<M>,
        qm: &M,
        q: u32,
        k: usize,
        filter: Filter,
        use_scan: bool,
    ) -> Evals {
        let mut ev = Evals::default();
        let cap = self.prior_cap(tree, qm, q, k, filter, &mut ev);
        self.knn.reset(k, cap);
        if use_scan {
            scan(tree, qm, q, filter, &mut self.knn, &mut self.bufs, &mut ev);
        } else {
            tree_search(tree, qm, q, filter, &mut self.knn, &mut self.bufs, &mut ev);
        }
        self.topk.reset(k);
        let t = self.knn.threshold();
        let topk = &mut self.topk;
        resolve(
            tree,
            qm,
            q,
            &self.knn.cands,
            t,
            &mut self.resolver,
            &mut ev,
            |d, id| topk.push(d, id),
        );
        self.remember(filter);
        ev
    }

    /// An upper bound of query `q`'s k-th canonical distance before any search, from
    /// the points of the previous query of the block ([`Scratch::prior`]): the k-th
    /// smallest distance bound from `q` to those `filter` admits, +∞ if fewer than k.
    /// Any k distinct admitted points bound the k-th distance. On the tree path of a
    /// big tree consecutive queries are close (Hilbert or layout order), so the bound
    /// is useful, and the search starts with a finite threshold instead of offering
    /// the root's children blindly; elsewhere it costs k cheap evaluations.
    pub(super) fn prior_cap<M: Metric>(
        &mut self,
        tree: &Tree<M>,
        qm: &M,
        q: u32,
        k: usize,
        filter: Filter,
        ev: &mut Evals,
    ) -> f64 {
        if self.prior.len() < k {
            return f64::INFINITY;
        }
        let m = &tree.metric;
        let err = m.errors().approx_slack();
        let ups = &mut self.prior_ups;
        ups.clear();
        for &id in &self.prior {
            let Some(pos) = row_of(tree, id).filter(|_| filter.admits(id)) else {
                continue;
            };
            ev.approx += 1;
            let u = interval_one(m, qm, q, pos, err).1;
            if u.is_nan() {
                return f64::INFINITY; // NaN: no bound
            }
            ups.push(u);
        }
        if ups.len() < k {
            return f64::INFINITY;
        }
        *ups.select_nth_unstable_by(k - 1, f64::total_cmp).1
    }

    /// Forgets the previous query: the next one starts without a prior bound.
    pub(crate) fn forget(&mut self) {
        self.prior.clear();
    }

    /// Remembers the points of the query just answered for the next one's
    /// [`Scratch::prior_cap`]: its answer, and the query itself where it is a point of
    /// the tree (self and predecessor queries).
    pub(super) fn remember(&mut self, filter: Filter) {
        self.prior.clear();
        self.prior.extend(self.topk.ids());
        if let Filter::Except(x) | Filter::Below(x) = filter {
            self.prior.push(x);
        }
    }

    /// All points within `r` of query `q`, sorted by (distance, id), in `self.hits`:
    /// through `ix` (the tree's k-d index) when given, else by scan or tree search.
    pub(crate) fn range<M: Metric>(
        &mut self,
        tree: &Tree<M>,
        ix: Option<&KdIndex>,
        qm: &M,
        q: u32,
        r: f64,
        use_scan: bool,
    ) -> Evals {
        let mut ev = Evals::default();
        self.hits.clear();
        let hits = &mut self.hits;
        if let Some(ix) = ix {
            // The index reports canonical distances (a few just beyond `r` too).
            ev.approx = ix.search_point(qm, q, r, NONE, &mut self.kd, &mut ev.exact, |pos, d| {
                if d <= r {
                    hits.push((d, tree.id[pos as usize]));
                    hits.extend(tree.dups_of(pos).iter().map(|&dup| (d, dup)));
                }
                r
            });
            ev.offers = hits.len() as u64;
        } else {
            self.range.r = r;
            self.range.cands.clear();
            if use_scan {
                scan(tree, qm, q, Filter::All, &mut self.range, &mut self.bufs, &mut ev);
            } else {
                tree_search(tree, qm, q, Filter::All, &mut self.range, &mut self.bufs, &mut ev);
            }
            resolve(
                tree,
                qm,
                q,
                &self.range.cands,
                r,
                &mut self.resolver,
                &mut ev,
                |d, id| {
                    if d <= r {
                        hits.push((d, id))
                    }
                },
            );
        }
        hits.sort_unstable_by(|a, b| a.partial_cmp(b).expect("finite distances"));
        ev
    }
}

/// The position whose row holds point `id` (its node or its twin's); `None` for an
/// id not in the tree (deleted).
pub(crate) fn row_of<M>(tree: &Tree<M>, id: u32) -> Option<u32> {
    let p = tree.pos_of_id[id as usize];
    (p != NONE).then_some(p)
}
