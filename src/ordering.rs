//! Orderings for Vecchia approximations: the exact maximin ordering.
//!
//! The maximin ordering (greedy permutation) starts from one point and then always takes
//! the point farthest from all points taken so far, ties by the smaller id; its *radius*
//! is that distance. Vecchia approximations condition each point on its nearest
//! predecessors in this order (GpGp `order_maxmin`; in the residual metric, the
//! correlation-based ordering of Kang & Katzfuss 2023). The answer here is exact: the
//! same permutation an O(n²) loop over canonical distances gives.
//!
//! ```text
//! dist[i] = d(i, taken)     every untaken point's distance to the nearest taken point
//! step    take the untaken point c with the largest dist (ties: smaller id); only points
//!         with d(i, c) < dist[i] change, all within dist[c] of c
//! ```
//!
//! Euclidean data in at most 16 dimensions runs over one k-d index that is its own
//! tournament (`tree::kd`'s `maximin`): each k-d node keeps its farthest untaken point,
//! the root names the next one, and a step's search skips every node farther from `c`
//! than its own farthest point is from the taken ones — about `n·log n` updates in all
//! for data of low dimension, on one thread (the ordering is sequential by nature).
//! Other metrics measure every untaken point per step (`n²/2` distances, on the pool):
//! exact for any metric, for data of moderate size.

use crate::metric::Metric;
use crate::pool::Pool;
use crate::tree::{kd_pays, KdIndex};
use crate::{Error, Result};
use rayon::prelude::*;

/// An exact maximin ordering.
#[derive(Clone, Debug, PartialEq)]
pub struct Maximin {
    /// The point ids in maximin order: `order[0]` the first point, `order[r]` the r-th taken.
    pub order: Vec<u32>,
    /// `radius[r]`: the distance from `order[r]` to the points before it in the order
    /// (`+∞` for the first; 0 for an exact duplicate of an earlier point).
    pub radius: Vec<f64>,
}

/// The point nearest the mean of the coordinates (ties by the smaller id), the usual
/// first point of a maximin ordering (GpGp starts there); point 0 for a metric without
/// coordinates.
pub fn central_point<M: Metric>(data: &M) -> u32 {
    let dim = data.capabilities().coordinate_dim;
    let n = data.len();
    if dim == 0 || n == 0 {
        return 0;
    }
    let mut row = vec![0.0; dim];
    let mut mean = vec![0.0; dim];
    for i in 0..n as u32 {
        data.coordinates(i, &mut row);
        mean.iter_mut().zip(&row).for_each(|(m, x)| *m += x);
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mut best = (f64::INFINITY, 0u32);
    for i in 0..n as u32 {
        data.coordinates(i, &mut row);
        let s: f64 = row.iter().zip(&mean).map(|(x, m)| (x - m) * (x - m)).sum();
        if s < best.0 {
            best = (s, i);
        }
    }
    best.1
}

/// The exact maximin ordering of `data`'s points starting from [`central_point`].
///
/// ```
/// use pcct::{datagen, ordering, Dataset, Euclidean, Pool};
/// let pool = Pool::new(2)?;
/// let data = Euclidean::new(Dataset::from_rows(&datagen::uniform(1000, 2, 1), 1000, 2)?)?;
/// let mm = ordering::maximin(&data, &pool)?;
/// assert_eq!(mm.order.len(), 1000);
/// assert!(mm.radius.windows(2).all(|w| w[0] >= w[1])); // radii never grow
/// # Ok::<(), pcct::Error>(())
/// ```
pub fn maximin<M: Metric>(data: &M, pool: &Pool) -> Result<Maximin> {
    maximin_from(data, central_point(data), pool)
}

/// The exact maximin ordering of `data`'s points starting from point `first`.
pub fn maximin_from<M: Metric>(data: &M, first: u32, pool: &Pool) -> Result<Maximin> {
    let n = data.len();
    if n == 0 {
        return Err(Error::invalid("data", "no points to order".into()));
    }
    if first as usize >= n {
        return Err(Error::invalid(
            "first",
            format!("point {first} does not exist ({n} points)"),
        ));
    }
    pool.install(|| {
        if by_kd_index(data) {
            by_kd(data, first, pool)
        } else {
            by_scan(data, first)
        }
    })
}

/// Whether [`maximin`] orders `data` through a k-d index (Euclidean coordinates in at
/// most 16 dimensions, about `n·log n` work) rather than by scanning (`n²/2` distances).
pub fn by_kd_index<M: Metric>(data: &M) -> bool {
    kd_pays(data)
}

/// Distance of a taken point (below every real distance).
const TAKEN: f64 = -1.0;

/// Distances from `first` to every point, on the pool.
fn from_first<M: Metric>(data: &M, first: u32) -> Vec<f64> {
    (0..data.len() as u32)
        .into_par_iter()
        .with_min_len(4096)
        .map(|i| data.distance(data, first, i))
        .collect()
}

/// Euclidean data in few dimensions: one k-d index over all points, its own tournament
/// (`tree::kd`'s `maximin`).
fn by_kd<M: Metric>(data: &M, first: u32, pool: &Pool) -> Result<Maximin> {
    let all: Vec<u32> = (0..data.len() as u32).collect();
    let kd = KdIndex::new(data, &all, &all, Some(pool));
    let (order, radius) = kd.maximin(first);
    Ok(Maximin { order, radius })
}

/// Any metric: each step measures every untaken point (in parallel).
fn by_scan<M: Metric>(data: &M, first: u32) -> Result<Maximin> {
    let n = data.len();
    let mut dist = from_first(data, first);
    dist[first as usize] = TAKEN;
    let mut out = Maximin {
        order: Vec::with_capacity(n),
        radius: Vec::with_capacity(n),
    };
    out.order.push(first);
    out.radius.push(f64::INFINITY);
    loop {
        // The farthest untaken point, ties by the smaller id (a parallel argmax).
        let best = dist
            .par_iter()
            .enumerate()
            .with_min_len(4096)
            .filter(|(_, &d)| d > TAKEN)
            .map(|(i, &d)| (d, i))
            .reduce_with(|a, b| {
                if b.0 > a.0 || (b.0 == a.0 && b.1 < a.1) {
                    b
                } else {
                    a
                }
            });
        let Some((r, c)) = best else { break };
        out.order.push(c as u32);
        out.radius.push(r);
        dist[c] = TAKEN;
        if r > 0.0 {
            dist.par_iter_mut()
                .enumerate()
                .with_min_len(4096)
                .filter(|(_, d)| **d > TAKEN)
                .for_each(|(i, d)| {
                    let e = data.distance(data, c as u32, i as u32);
                    if e < *d {
                        *d = e;
                    }
                });
        }
    }
    Ok(out)
}
