//! Brute force over a metric: the oracle, and a baseline users ask for.
//!
//! Blocked: approximate distances for 256 points at a time from the kernels, then
//! canonical distances only for candidates whose lower error bound could enter the
//! answer. Parallel over queries on the given pool; ties by id.

use super::bounds::{MetricForm, RawForm};
use super::collect::Collector;
use super::topk::TopK;
use super::{check_k, Neighbors, RangeNeighbors};
use crate::metric::{raw_block, Metric};
use crate::pool::Pool;
use crate::tree::NONE;
use crate::{Error, Result};
use rayon::prelude::*;

/// All points within `r`: the range form of [`TopK`] for exact offers.
struct Within<'a> {
    r: f64,
    hits: &'a mut Vec<(f64, u32)>,
}

impl Collector for Within<'_> {
    fn threshold(&self) -> f64 {
        self.r
    }
    fn offer(&mut self, _lower: f64, d: f64, _pos: u32, id: u32) {
        if d <= self.r {
            self.hits.push((d, id));
        }
    }
}

/// Scans ids `0..end` of `m` for query `q` of `qm`, skipping `skip`: raw values a block
/// at a time, bounded as the engine's scans bound them ([`MetricForm`]), and the
/// canonical distance of every row whose lower bound is within `col`'s threshold,
/// offered exactly (lower = upper).
fn scan_ids<M: Metric, C: Collector>(
    m: &M,
    qm: &M,
    q: u32,
    end: u32,
    skip: u32,
    col: &mut C,
    buf: &mut Vec<f64>,
) {
    const BLOCK: u32 = 256;
    let form = MetricForm::new(m);
    let mut start = 0;
    while start < end {
        let stop = (start + BLOCK).min(end);
        buf.resize((stop - start) as usize, 0.0);
        raw_block(m, qm, q, start, buf);
        let mut t = col.threshold();
        let mut lim = form.limit(t);
        for (j, &r) in (start..stop).zip(buf.iter()) {
            if j == skip || r > lim {
                continue;
            }
            if form.interval(r).0 <= t {
                let d = m.distance(qm, q, j);
                col.offer(d, d, j, j);
                if col.threshold() != t {
                    t = col.threshold();
                    lim = form.limit(t);
                }
            }
        }
        start = stop;
    }
}

/// `k` nearest for each of `nq` queries of `qm` among the rows of `m`, one query at a
/// time: `map(i)` gives query `i`'s row limit and the row to skip (`NONE`: none).
pub(super) fn run<M: Metric>(
    m: &M,
    qm: &M,
    nq: usize,
    k: usize,
    pool: &Pool,
    map: impl Fn(usize) -> (u32, u32) + Sync,
    observe: super::Observer<'_>,
) -> Neighbors {
    let mut ids = vec![NONE; nq * k];
    let mut dists = vec![f64::INFINITY; nq * k];
    pool.install(|| {
        ids.par_chunks_mut(k)
            .zip(dists.par_chunks_mut(k))
            .enumerate()
            .for_each_init(
                || (TopK::default(), Vec::new()),
                |(top, buf), (i, (ri, rd))| {
                    let (end, skip) = map(i);
                    top.reset(k);
                    scan_ids(m, qm, i as u32, end, skip, top, buf);
                    top.write(ri, rd);
                    observe(1);
                },
            )
    });
    Neighbors::new(k, ids, dists)
}

/// The exact `k` nearest points of `data` to each point of `queries` (`1 ≤ k ≤ n`).
pub fn brute_force_knn<M: Metric>(data: &M, queries: &M, k: usize, pool: &Pool) -> Result<Neighbors> {
    check_k(k, data.len(), "k-NN")?;
    data.check_queries(queries)?;
    let n = data.len() as u32;
    Ok(run(
        data,
        queries,
        queries.len(),
        k,
        pool,
        |_| (n, NONE),
        super::unobserved(),
    ))
}

/// For each point, its exact `k` nearest other points (`1 ≤ k ≤ n`, padded).
pub fn brute_force_self_knn<M: Metric>(data: &M, k: usize, pool: &Pool) -> Result<Neighbors> {
    check_k(k, data.len(), "self-kNN")?;
    let n = data.len() as u32;
    Ok(run(
        data,
        data,
        data.len(),
        k,
        pool,
        |i| (n, i as u32),
        super::unobserved(),
    ))
}

/// For each point `i`, its exact `k` nearest points among ids `< i` (padded).
pub fn brute_force_predecessor_knn<M: Metric>(data: &M, k: usize, pool: &Pool) -> Result<Neighbors> {
    check_k(k, data.len(), "predecessor")?;
    Ok(run(
        data,
        data,
        data.len(),
        k,
        pool,
        |i| (i as u32, NONE),
        super::unobserved(),
    ))
}

/// All points of `data` within `r` of each point of `queries`, sorted by (distance, id).
pub fn brute_force_range<M: Metric>(data: &M, queries: &M, r: f64, pool: &Pool) -> Result<RangeNeighbors> {
    if !(r >= 0.0 && r.is_finite()) {
        return Err(Error::invalid(
            "radius",
            format!("{r} is not a finite radius ≥ 0"),
        ));
    }
    data.check_queries(queries)?;
    let n = data.len() as u32;
    let rows: Vec<Vec<(f64, u32)>> = pool.install(|| {
        (0..queries.len())
            .into_par_iter()
            .map_init(Vec::new, |buf, i| {
                let mut hits = Vec::new();
                scan_ids(
                    data,
                    queries,
                    i as u32,
                    n,
                    NONE,
                    &mut Within { r, hits: &mut hits },
                    buf,
                );
                hits.sort_unstable_by(|a, b| a.partial_cmp(b).expect("finite distances"));
                hits
            })
            .collect()
    });
    let mut offsets = vec![0];
    let (mut ids, mut dists) = (Vec::new(), Vec::new());
    for h in rows {
        ids.extend(h.iter().map(|x| x.1));
        dists.extend(h.iter().map(|x| x.0));
        offsets.push(ids.len());
    }
    Ok(RangeNeighbors { offsets, ids, dists })
}
