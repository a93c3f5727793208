//! `Tree::validate`: every invariant of DESIGN.md §2, each violation reported.

use super::{scale, Tree, NONE};
use crate::metric::Metric;
use std::fmt;

/// One broken invariant (ids are original point ids).
#[derive(Clone, Debug, PartialEq)]
pub enum Violation {
    /// The arrays do not describe one rooted tree over all points.
    Structure(String),
    /// A child's level is not below its parent's.
    LevelOrder {
        /// The child.
        node: u32,
        /// Its parent.
        parent: u32,
    },
    /// `d(node, parent) > b^(level(node) + 1)`.
    Covering {
        /// The node.
        node: u32,
        /// Its parent.
        parent: u32,
        /// Their distance.
        dist: f64,
        /// The node's level.
        level: i32,
    },
    /// The stored distance to the parent is not the metric's.
    DistToParent {
        /// The node.
        node: u32,
        /// Stored value.
        stored: f64,
        /// The metric's value.
        actual: f64,
    },
    /// Two nodes of level ≥ `level` are within `b^level`.
    Separation {
        /// One node.
        a: u32,
        /// The other.
        b: u32,
        /// Their distance.
        dist: f64,
        /// The lower of their levels.
        level: i32,
    },
    /// A descendant lies beyond the stored cover radius.
    Radius {
        /// The ancestor.
        node: u32,
        /// The descendant.
        descendant: u32,
        /// Their distance.
        dist: f64,
        /// The stored radius.
        radius: f64,
    },
    /// The stored minimum id of a subtree is wrong.
    MinId {
        /// The node.
        node: u32,
        /// Stored value.
        stored: u32,
        /// The true minimum.
        actual: u32,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

impl<M: Metric> Tree<M> {
    /// Checks structure, level order, covering, stored parent distances, separation,
    /// cover radii and subtree minimum ids; returns every violation found (empty: valid).
    /// A flat tree ([`Tree::is_flat`]) is checked for flatness instead of separation.
    /// Structural violations stop the other checks, and separation is checked only when
    /// everything else holds (its search relies on the radii).
    /// Costs O(n · depth) distance evaluations.
    pub fn validate(&self) -> Vec<Violation> {
        let mut v = Vec::new();
        self.check_structure(&mut v);
        if !v.is_empty() {
            return v; // the other checks walk the structure
        }
        let nodes = self.num_nodes();
        // Children sorted by distance to the parent, and the largest child radius stored.
        for p in 0..nodes {
            let ch = self.children(p as u32);
            let dps = &self.dist_parent[ch.start as usize..ch.end as usize];
            let rmax = self.radius[ch.start as usize..ch.end as usize]
                .iter()
                .fold(0.0f64, |a, &r| a.max(r));
            if dps.windows(2).any(|w| w[1] < w[0]) || self.child_radius_max[p] != rmax {
                v.push(Violation::Structure(format!(
                    "children of position {p}: unsorted or wrong radius bound"
                )));
            }
        }
        // A bucket's descendants are exactly the block child_first..bucket_end.
        let mut stack = Vec::new();
        for p in 0..nodes {
            let end = self.bucket_end[p];
            if end == NONE {
                continue;
            }
            let (first, mut count, mut inside) = (self.child_first[p], 0u32, true);
            stack.clear();
            stack.extend(self.children(p as u32));
            while let Some(c) = stack.pop() {
                count += 1;
                inside &= c >= first && c < end;
                stack.extend(self.children(c));
            }
            if !inside || end < first || count != end - first {
                v.push(Violation::Structure(format!(
                    "bucket at position {p} is not its descendants' block"
                )));
            }
        }
        let m = &self.metric;
        for p in 1..nodes {
            let q = self.parent[p] as usize;
            let (id, pid) = (self.id[p], self.id[q]);
            if self.level[p] >= self.level[q] {
                v.push(Violation::LevelOrder {
                    node: id,
                    parent: pid,
                });
            }
            let d = m.distance(m, p as u32, q as u32);
            if d > scale(self.level[p].saturating_add(1)) {
                v.push(Violation::Covering {
                    node: id,
                    parent: pid,
                    dist: d,
                    level: self.level[p],
                });
            }
            if d != self.dist_parent[p] {
                v.push(Violation::DistToParent {
                    node: id,
                    stored: self.dist_parent[p],
                    actual: d,
                });
            }
            // Every ancestor's radius must cover this node.
            let mut a = q;
            loop {
                let da = m.distance(m, p as u32, a as u32);
                if da > self.radius[a] {
                    v.push(Violation::Radius {
                        node: self.id[a],
                        descendant: id,
                        dist: da,
                        radius: self.radius[a],
                    });
                }
                if self.parent[a] == NONE {
                    break;
                }
                a = self.parent[a] as usize;
            }
        }
        // Minimum ids, bottom-up (children have larger positions).
        let mut min_id: Vec<u32> = (0..nodes)
            .map(|p| self.id[p].min(self.dups_of(p as u32).iter().copied().min().unwrap_or(NONE)))
            .collect();
        for p in (1..nodes).rev() {
            let q = self.parent[p] as usize;
            min_id[q] = min_id[q].min(min_id[p]);
        }
        for ((&actual, &stored), &node) in min_id.iter().zip(&self.min_id).zip(&self.id) {
            if actual != stored {
                v.push(Violation::MinId { node, stored, actual });
            }
        }
        if self.flat {
            // A flat tree waives separation; it must be flat.
            if let Some(p) = (1..nodes).find(|&p| self.parent[p] != 0) {
                v.push(Violation::Structure(format!(
                    "flat tree: position {p} is not a child of the root"
                )));
            }
        } else if v.is_empty() {
            self.check_separation(&mut v);
        }
        v
    }

    fn check_structure(&self, v: &mut Vec<Violation>) {
        let nodes = self.num_nodes();
        let arrays = [
            self.level.len(),
            self.parent.len(),
            self.dist_parent.len(),
            self.radius.len(),
            self.min_id.len(),
            self.child_first.len(),
            self.child_count.len(),
            self.child_radius_max.len(),
            self.bucket_end.len(),
            self.dups.num_rows(),
        ];
        if nodes == 0 || arrays.iter().any(|&l| l != nodes) || self.metric.len() != nodes {
            v.push(Violation::Structure(format!(
                "{nodes} nodes but per-node arrays of {arrays:?}"
            )));
            return;
        }
        if self.parent[0] != NONE {
            v.push(Violation::Structure("position 0 is not the root".into()));
        }
        // Each non-root position is claimed by exactly one child range: its parent's.
        let mut claimed = vec![NONE; nodes];
        for p in 0..nodes {
            for c in self.children(p as u32) {
                let c = c as usize;
                if c >= nodes || c == 0 || claimed[c] != NONE {
                    v.push(Violation::Structure(format!(
                        "child position {c} of {p} is invalid or claimed twice"
                    )));
                    return;
                }
                claimed[c] = p as u32;
            }
        }
        for (c, (&claimed, &parent)) in claimed.iter().zip(&self.parent).enumerate().skip(1) {
            if claimed != parent {
                v.push(Violation::Structure(format!(
                    "position {c}: parent {parent} but listed under {claimed}"
                )));
            }
        }
        // Every point id is one node or one duplicate, and pos_of_id agrees; ids not in
        // the tree (deleted) have no position.
        let mut seen = vec![false; self.pos_of_id.len()];
        let mut mark = |id: u32, pos: usize, v: &mut Vec<Violation>| match seen.get_mut(id as usize) {
            Some(s) if !*s && self.pos_of_id[id as usize] == pos as u32 => *s = true,
            _ => v.push(Violation::Structure(format!(
                "point {id} at position {pos} is out of range, repeated or mislocated"
            ))),
        };
        for p in 0..nodes {
            mark(self.id[p], p, v);
            for &d in self.dups_of(p as u32) {
                mark(d, p, v);
            }
        }
        if let Some(missing) = seen
            .iter()
            .zip(&self.pos_of_id)
            .position(|(&s, &p)| !s && p != NONE)
        {
            v.push(Violation::Structure(format!("point {missing} is in no node")));
        }
        let live = seen.iter().filter(|&&s| s).count();
        if live != self.n_points {
            v.push(Violation::Structure(format!(
                "{live} points in nodes, but the tree counts {}",
                self.n_points
            )));
        }
    }

    /// For each node p: no other node q with level(q) ≥ level(p) within b^level(p).
    fn check_separation(&self, v: &mut Vec<Violation>) {
        let m = &self.metric;
        let mut stack = Vec::new();
        for p in 0..self.num_nodes() as u32 {
            let lp = self.level[p as usize];
            if lp == i32::MIN {
                continue;
            }
            let r = scale(lp);
            stack.clear();
            stack.push(0u32);
            while let Some(y) = stack.pop() {
                let d = m.distance(m, p, y);
                let ly = self.level[y as usize];
                if y != p && ly >= lp && d <= r && (ly > lp || p < y) {
                    v.push(Violation::Separation {
                        a: self.id[p as usize],
                        b: self.id[y as usize],
                        dist: d,
                        level: lp,
                    });
                }
                // Children have levels ≤ ly − 1; only those at level ≥ lp matter.
                if ly.saturating_sub(1) >= lp && d - self.radius[y as usize] <= r {
                    stack.extend(self.children(y));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{datagen, Dataset, Euclidean, Tree};

    fn tree() -> Tree<Euclidean<f64>> {
        let v = datagen::uniform(200, 2, 5);
        Tree::build_sequential(Euclidean::new(Dataset::from_rows(&v, 200, 2).unwrap()).unwrap()).unwrap()
    }

    #[test]
    fn a_valid_tree_has_no_violations() {
        assert_eq!(tree().validate(), vec![]);
    }

    #[test]
    fn each_corruption_is_reported() {
        let deep = |t: &Tree<Euclidean<f64>>| {
            (1..t.num_nodes())
                .max_by_key(|&p| t.level[t.parent[p] as usize])
                .unwrap()
        };

        let mut t = tree();
        let p = deep(&t);
        t.radius[t.parent[p] as usize] = 0.0;
        assert!(t.validate().iter().any(|v| matches!(v, Violation::Radius { .. })));

        let mut t = tree();
        t.min_id[0] = 7;
        assert!(t
            .validate()
            .iter()
            .any(|v| matches!(v, Violation::MinId { stored: 7, .. })));

        let mut t = tree();
        let p = deep(&t);
        t.dist_parent[p] += 1e-9;
        assert!(t
            .validate()
            .iter()
            .any(|v| matches!(v, Violation::DistToParent { .. })));

        let mut t = tree();
        let p = deep(&t);
        t.level[p] = t.level[t.parent[p] as usize];
        assert!(t
            .validate()
            .iter()
            .any(|v| matches!(v, Violation::LevelOrder { .. })));

        let mut t = tree();
        let p = deep(&t);
        t.level[p] = -60; // far too low a level to cover the distance to its parent
        assert!(t
            .validate()
            .iter()
            .any(|v| matches!(v, Violation::Covering { .. })));

        let mut t = tree();
        let p = (1..t.num_nodes()).find(|&p| t.child_count[p] == 0).unwrap();
        t.level[p] = t.level[t.parent[p] as usize] - 1; // raised: now too close to its siblings
        let v = t.validate();
        assert!(
            v.iter().any(|v| matches!(v, Violation::Separation { .. })),
            "{v:?}"
        );

        let mut t = tree();
        let b = (0..t.num_nodes())
            .find(|&p| t.bucket_end[p] != NONE)
            .expect("a bucket");
        t.bucket_end[b] -= 1;
        assert!(t.validate().iter().any(|v| matches!(v, Violation::Structure(_))));

        let mut t = tree();
        t.parent[3] = NONE;
        assert!(t.validate().iter().any(|v| matches!(v, Violation::Structure(_))));
    }
}
