//! k-NN through the tree's k-d index: boxes prune where balls cannot (few coordinates).

use super::evals::Evals;
use super::filter::Filter;
use super::offer::admitted_dups;
use super::scratch::Scratch;
use crate::metric::Metric;
use crate::tree::{KdIndex, Tree, NONE};

impl Scratch {
    /// k nearest of query `q` through `ix`, the tree's k-d index ([`Tree::kd_index`]);
    /// result in `self.topk`. The index measures canonical distances itself, so its
    /// answers are the tree's and the scan's.
    pub(crate) fn knn_kd<M: Metric>(
        &mut self,
        tree: &Tree<M>,
        ix: &KdIndex,
        qm: &M,
        q: u32,
        k: usize,
        filter: Filter,
    ) -> Evals {
        // No prior bound here: the index meets close candidates first anyway, so one
        // would add evaluations rather than save them.
        self.topk.reset(k);
        let limit = match filter {
            Filter::Below(x) => x,
            _ => NONE,
        };
        let topk = &mut self.topk;
        let (mut exact, mut offers) = (0, 0);
        let approx = ix.search_point(qm, q, f64::INFINITY, limit, &mut self.kd, &mut exact, |pos, d| {
            let id = tree.id[pos as usize];
            if filter.admits(id) {
                topk.push(d, id);
                offers += 1;
            }
            for dup in admitted_dups(tree, pos, filter, k) {
                topk.push(d, dup);
                offers += 1;
            }
            topk.threshold()
        });
        Evals {
            approx,
            exact,
            rows: 0,
            offers,
        }
    }
}
