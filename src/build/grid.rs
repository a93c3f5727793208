//! Grid election (DESIGN.md §3, stage 4): before the MIS, the round's new nodes are
//! hashed into grid cells — per level `ℓ`, cubes of side `b^ℓ / √d` — and each cell
//! holding several of them elects one leader, the highest MIS priority. The others sit
//! the round out (pre-coloured as losers), so the MIS runs over the leaders only.
//!
//! Two new nodes of level `ℓ` in one cell are less than `b^ℓ` apart (points whose cell
//! coordinates would reach 2^52 join no cell), so they conflict and
//! at most one of them could win anyway: the election only takes from the MIS the
//! chance that a non-leader wins after its leader lost to a third node. Correctness does
//! not rest on the cell geometry at all: winners are an independent set of the leaders'
//! conflict graph (every real edge among them is kept), and non-leaders go back to the
//! traversal like any loser. The leader is a function of the seed and the point ids,
//! so the tree stays the same for any number of threads.

use super::mis;
use crate::metric::Metric;
use crate::tree::scale;
use rayon::prelude::*;

/// Cells shrink by this factor so that rounding in `floor(x / side)` cannot put two
/// points more than `b^ℓ` apart into one cell.
const SHRINK: f64 = 1.0 - 1e-9;

/// Cell coordinates at least this large (in cells) are not trusted to separate points.
const CELL_LIMIT: f64 = (1u64 << 52) as f64;

/// What an election decided: which points may enter the MIS, and how many cells held
/// more than one point (each elected one leader).
pub(crate) struct Election {
    /// `false` for the points that sit this round out.
    pub(crate) candidate: Vec<bool>,
    /// Cells with more than one new node.
    pub(crate) leaders: u64,
}

/// Elects the leaders among `points` of `m` (coordinates needed:
/// [`Capabilities::euclidean`](crate::metric::Capabilities::euclidean)); `levels[v]` is point
/// `v`'s new level, or `None` for points that are not new nodes (duplicates: always
/// candidates). Call inside the pool.
pub(crate) fn elect<M: Metric>(m: &M, points: &[u32], levels: &[Option<i32>], seed: u64) -> Election {
    let dim = m.capabilities().coordinate_dim;
    let side = |l: i32| scale(l) / (dim as f64).sqrt() * SHRINK;
    // (cell hash, priority, index) for every new node; the cell hash mixes the level and
    // the integer cell coordinates (a collision only merges two cells' elections).
    let mut keyed: Vec<(u64, (u64, u32), u32)> = points
        .par_iter()
        .zip(levels.par_iter())
        .enumerate()
        .filter_map(|(v, (&x, &l))| l.map(|l| (v, x, l)))
        .map_init(
            || vec![0.0; dim],
            |c, (v, x, l)| {
                m.coordinates(x, c);
                let w = side(l);
                let mut h = mix(l as u32 as u64);
                for &t in c.iter() {
                    // Beyond 2^52 cells (or a zero side) `floor` no longer separates
                    // cells: such a point joins no cell and stays a candidate.
                    let f = (t / w).floor();
                    if !f.is_finite() || f.abs() >= CELL_LIMIT {
                        return None;
                    }
                    h = mix(h ^ (f as i64 as u64));
                }
                Some((h, mis::priority(seed, x), v as u32))
            },
        )
        .flatten()
        .collect();
    // Highest priority first within a cell, as the MIS would prefer it.
    keyed.par_sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut candidate = vec![true; points.len()];
    let mut leaders = 0;
    for cell in keyed.chunk_by(|a, b| a.0 == b.0) {
        if cell.len() > 1 {
            leaders += 1;
            for &(_, _, v) in &cell[1..] {
                candidate[v as usize] = false;
            }
        }
    }
    Election { candidate, leaders }
}

/// One step of the cell hash (a splitmix64 step).
fn mix(z: u64) -> u64 {
    mis::finalise(z.wrapping_add(0x9E37_79B9_7F4A_7C15))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{datagen, Dataset, Euclidean};

    /// Points of one level that share a cell are within `b^ℓ` of each other (so they
    /// conflict), every multi-point cell keeps exactly its highest-priority point, and
    /// points that are not new nodes always stay candidates.
    #[test]
    fn one_leader_per_cell_and_cells_are_within_the_conflict_radius() {
        for (seed, dim) in [(1u64, 2usize), (2, 3), (3, 8)] {
            let n = 3000;
            let rows = datagen::clusters(n, dim, 5, 0.05, seed);
            let m = Euclidean::new(Dataset::from_rows(&rows, n, dim).unwrap()).unwrap();
            let points: Vec<u32> = (0..n as u32).collect();
            let mut rng = datagen::Rng::new(seed);
            let levels: Vec<Option<i32>> = (0..n)
                .map(|_| match rng.below(5) {
                    0 => None,
                    l => Some(-(l as i32)),
                })
                .collect();
            let pool = crate::Pool::new(2).unwrap();
            let e = pool.install(|| elect(&m, &points, &levels, seed));
            assert!(e.leaders > 0, "dim {dim}: no cell held two points");
            let side = |l: i32| scale(l) / (dim as f64).sqrt() * SHRINK;
            let cell = |v: usize, l: i32| -> Vec<i64> {
                let r = &rows[v * dim..(v + 1) * dim];
                r.iter().map(|&t| (t / side(l)).floor() as i64).collect()
            };
            let mut cells = std::collections::HashMap::new();
            for (v, &level) in levels.iter().enumerate() {
                match level {
                    None => assert!(e.candidate[v], "dim {dim}: duplicate {v} benched"),
                    Some(l) => cells.entry((l, cell(v, l))).or_insert_with(Vec::new).push(v),
                }
            }
            let mut multi = 0;
            for ((l, _), vs) in &cells {
                let best = *vs.iter().max_by_key(|&&v| mis::priority(seed, v as u32)).unwrap();
                for &v in vs {
                    assert_eq!(e.candidate[v], v == best, "dim {dim}, level {l}, point {v}");
                    assert!(m.distance(&m, v as u32, best as u32) <= scale(*l), "dim {dim}");
                }
                multi += (vs.len() > 1) as u64;
            }
            assert_eq!(e.leaders, multi, "dim {dim}");
        }
    }
}
