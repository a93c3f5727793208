//! The Euclidean metric over `f32` or `f64` rows.

use super::{canonical_bounds, Bounds, Capabilities, Dataset, Errors, Metric, Points, Raw};
use crate::kernels::{reference, Element, Kernels};
use crate::{Error, Result};

/// Euclidean distance over a [`Dataset`].
///
/// Canonical distance: `sqrt(Σ (x_j − y_j)²)` summed in `f64` in column order over
/// the stored values (for `f32` storage, the exact widened values). Block distances
/// come from the SIMD kernels of the active ISA in the storage type and are only
/// used to discard candidates, with the error bound of [`Metric::errors`].
#[derive(Clone, Debug)]
pub struct Euclidean<T: Element> {
    data: Dataset<T>,
    kernels: Kernels<T>,
}

/// Coordinates beyond this could overflow squared sums of `dim` terms in `T`:
/// `(2m)²·dim` must stay below a quarter of `T`'s largest value.
fn max_coordinate<T: Element>(dim: usize) -> f64 {
    let max = if T::BYTES == 4 { f32::MAX as f64 } else { f64::MAX };
    (max / (16.0 * dim.max(1) as f64)).sqrt()
}

impl<T: Element> Euclidean<T> {
    /// The metric over `data`, with the active kernel set (`PCCT_ISA` or the best).
    /// Errors if `PCCT_ISA` is invalid or coordinates are so large that squared
    /// distances could overflow (about 1e18 for f32 and 1e153 for f64 at d = 8).
    pub fn new(data: Dataset<T>) -> Result<Self> {
        let kernels = Kernels::<T>::active()?;
        Self::with_kernels(data, kernels)
    }

    /// The metric with an explicit kernel set.
    pub fn with_kernels(data: Dataset<T>, kernels: Kernels<T>) -> Result<Self> {
        let m = data.max_abs();
        let cap = max_coordinate::<T>(data.dim());
        if m > cap {
            return Err(Error::invalid(
                "data",
                format!(
                    "coordinate magnitude {m:e} exceeds {cap:e}: squared distances would overflow {}",
                    std::any::type_name::<T>()
                ),
            ));
        }
        Ok(Euclidean { data, kernels })
    }

    /// The points.
    pub fn dataset(&self) -> &Dataset<T> {
        &self.data
    }

    /// The kernel set in use.
    pub fn kernels(&self) -> &Kernels<T> {
        &self.kernels
    }

    /// Squared distances from query row `q` to rows `first..first + out.len()`: one
    /// block kernel call (f64 storage writes straight into `out`).
    fn raw_run(&self, q: &[T], first: u32, out: &mut [f64]) {
        if let Some(direct) = T::f64_slice_as_self(out) {
            // f64 storage: squared distances straight into `out`.
            self.kernels
                .sq_dist_block(q, self.data.rows_from(first as usize), self.data.stride(), direct);
        } else {
            // Other storage: through a stack buffer, widened.
            let mut tmp = [T::from_f64(0.0); 32];
            let mut start = first as usize;
            for o in out.chunks_mut(32) {
                let t = &mut tmp[..o.len()];
                self.kernels
                    .sq_dist_block(q, self.data.rows_from(start), self.data.stride(), t);
                o.iter_mut().zip(t.iter()).for_each(|(d, s)| *d = s.to_f64());
                start += o.len();
            }
        }
    }

    /// Intervals of the canonical distances for queries `q0..q0 + nq` × rows
    /// `first..first + nr`: coordinates widened to `f64` and centred on the tile's first
    /// row, the dot products as one matrix product ([`super::product_nt`]), bounds from
    /// [`pcct_kernels::gram`].
    #[allow(clippy::too_many_arguments)]
    fn tile_gram(
        &self,
        queries: &Self,
        q0: usize,
        nq: usize,
        first: usize,
        nr: usize,
        lo: &mut [f64],
        hi: &mut [f64],
    ) {
        use pcct_kernels::gram::{gamma, intervals, GramQuery, GramRows};
        assert!(
            lo.len() == nq * nr && hi.len() == lo.len(),
            "pcct: one bound per pair"
        );
        let dim = self.data.dim();
        let centre: Vec<f64> = self.data.row(first).iter().map(|v| v.to_f64()).collect();
        let centred = |data: &Dataset<T>, from: usize, n: usize| -> Vec<f64> {
            let mut out = vec![0.0; n * dim];
            for (o, i) in out.chunks_exact_mut(dim).zip(from..) {
                for ((o, v), c) in o.iter_mut().zip(data.row(i)).zip(&centre) {
                    *o = v.to_f64() - c;
                }
            }
            out
        };
        let (xs, qv) = (centred(&self.data, first, nr), centred(&queries.data, q0, nq));
        let sq = |v: &[f64]| -> Vec<f64> {
            v.chunks_exact(dim)
                .map(|r| r.iter().map(|x| x * x).sum())
                .collect()
        };
        let (xn, qn) = (sq(&xs), sq(&qv));
        let x_norms: Vec<f64> = xn.iter().map(|v| v.sqrt()).collect();
        let rows = GramRows {
            sq_norms: &xn,
            norms: &x_norms,
        };
        super::product_nt(&qv, &xs, dim, &mut lo[..nq * nr]);
        let e = self.errors(); // the queries' too: same dimension and storage
        for (qa, &n) in qn.iter().enumerate() {
            let q = GramQuery {
                sq_norm: n,
                gamma: gamma(dim),
                rel: e.distance_rel,
                abs: e.distance_abs,
            };
            intervals(
                &q,
                rows,
                &mut lo[qa * nr..(qa + 1) * nr],
                &mut hi[qa * nr..(qa + 1) * nr],
            );
        }
    }

    /// Squared distances from the query rows `qs` of `queries` to rows `first..first + n`,
    /// `out[a·n + r]`: the several-query kernel, four queries per call.
    fn raw_multi(&self, queries: &Self, qs: Points<'_>, first: u32, out: &mut [f64]) {
        // Four queries at a time: the kernels' query tile.
        const GROUP: usize = 4;
        let n = out.len() / qs.len().max(1);
        if n == 0 {
            return;
        }
        let mut rows_of: [&[T]; GROUP] = [&[]; GROUP];
        let rows = self.data.rows_from(first as usize);
        let stride = self.data.stride();
        for (g, o) in (0..qs.len()).step_by(GROUP).zip(out.chunks_mut(GROUP * n)) {
            let g = g..(g + GROUP).min(qs.len());
            for (r, a) in rows_of.iter_mut().zip(g.clone()) {
                *r = queries.data.row(qs.get(a) as usize);
            }
            let group = &rows_of[..g.len()];
            if let Some(direct) = T::f64_slice_as_self(o) {
                // f64 storage: squared distances straight into `out`.
                self.kernels.sq_dist_multi(group, rows, stride, direct);
            } else {
                // Other storage: through a stack buffer, widened, 32 rows at a time.
                const CHUNK: usize = 32;
                let mut tmp = [T::from_f64(0.0); GROUP * CHUNK];
                for start in (0..n).step_by(CHUNK) {
                    let len = CHUNK.min(n - start);
                    let t = &mut tmp[..g.len() * len];
                    self.kernels
                        .sq_dist_multi(group, self.data.rows_from(first as usize + start), stride, t);
                    for (a, ta) in t.chunks_exact(len).enumerate() {
                        let dst = &mut o[a * n + start..a * n + start + len];
                        dst.iter_mut().zip(ta).for_each(|(d, s)| *d = s.to_f64());
                    }
                }
            }
        }
    }
}

/// The canonical Euclidean distance: `sqrt(Σ (a_j − b_j)²)` summed in f64 in column
/// order; when that sum is so small that squares may have underflowed (f64 data whose
/// differences are all below ~1e-140), it is recomputed scaled by the largest
/// difference, so distinct points never measure 0.
pub fn canonical<T: Element>(a: &[T], b: &[T]) -> f64 {
    from_sum(reference::sq_dist_f64(a, b), a, b)
}

/// [`canonical`] from the column-order squared sum `s` of `a` and `b`.
#[inline]
fn from_sum<T: Element>(s: f64, a: &[T], b: &[T]) -> f64 {
    const TINY: f64 = 1e-280;
    if s >= TINY {
        return s.sqrt();
    }
    let m = a
        .iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x.to_f64() - y.to_f64()).abs()));
    if m == 0.0 {
        return 0.0;
    }
    let scaled: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| {
            let t = (x.to_f64() - y.to_f64()) / m;
            t * t
        })
        .sum();
    m * scaled.sqrt()
}

impl<T: Element> Metric for Euclidean<T> {
    fn len(&self) -> usize {
        self.data.len()
    }

    #[inline]
    fn distance(&self, queries: &Self, i: u32, j: u32) -> f64 {
        canonical(queries.data.row(i as usize), self.data.row(j as usize))
    }

    /// Four sums at a time ([`reference::sq_dist_f64_rows`]: four dependency chains
    /// side by side, each in column order), so the same bits as [`Metric::distance`].
    fn distances(&self, queries: &Self, i: u32, js: &[u32], out: &mut [f64]) {
        assert_eq!(js.len(), out.len(), "pcct: one output per point");
        let q = queries.data.row(i as usize);
        let row = |j: u32| self.data.row(j as usize);
        let mut js4 = js.chunks_exact(4);
        let mut out4 = out.chunks_exact_mut(4);
        for (j, o) in (&mut js4).zip(&mut out4) {
            let rows = [row(j[0]), row(j[1]), row(j[2]), row(j[3])];
            let s = reference::sq_dist_f64_rows(q, rows);
            for r in 0..4 {
                o[r] = from_sum(s[r], q, rows[r]);
            }
        }
        for (&j, o) in js4.remainder().iter().zip(out4.into_remainder()) {
            *o = canonical(q, row(j));
        }
    }

    fn coordinates(&self, i: u32, out: &mut [f64]) {
        for (o, v) in out.iter_mut().zip(self.data.row(i as usize)) {
            *o = v.to_f64();
        }
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            coordinate_dim: self.data.dim(),
            // `coordinates` widens the stored values exactly, and `canonical` works on
            // the widened values: the same operations either way.
            euclidean: true,
            blocks_pay: true,
            two_phase: false,
            // Below 16 coordinates the per-query kernels beat a product's tiles.
            tiles_pay: self.data.dim() >= 16,
            raw: Raw::Squared,
            sketch_isa: Some(self.kernels.isa()),
        }
    }

    fn errors(&self) -> Errors {
        // Squared sums of `dim` positive terms in T: relative error ≤ (dim + 2)·ε_T,
        // the canonical f64 sum likewise with ε_64; the square root halves relative
        // errors. Doubled for headroom. Underflow adds at most (dim + 2)·min_positive_T
        // to a squared sum, i.e. its square root to a distance.
        let d = self.data.dim() as f64 + 2.0;
        let min_pos = if T::BYTES == 4 {
            f32::MIN_POSITIVE as f64
        } else {
            f64::MIN_POSITIVE
        };
        Errors {
            distance_rel: 2.0 * d * f64::EPSILON,
            distance_abs: 0.0,
            approx_rel: 2.0 * d * (T::EPSILON + f64::EPSILON),
            approx_abs: (4.0 * d * min_pos).sqrt(),
        }
    }

    /// Squared distances: a run of rows through the block kernel (one query) or the
    /// several-query kernel; listed rows one at a time. Intervals, where asked for: for a
    /// run of queries × a run of rows, bounds from one matrix product (`tile_gram`);
    /// otherwise the canonical distances.
    fn bounds(&self, queries: &Self, qs: Points<'_>, rows: Points<'_>, out: Bounds<'_>) {
        let raw = match (out, qs, rows) {
            (Bounds::Raw(raw), ..) => raw,
            // A run of queries × a run of rows (the dense engine's tiles): one matrix product.
            (
                Bounds::Interval { lo, hi },
                Points::Run { first: q0, len: nq },
                Points::Run { first, len: nr },
            ) => return self.tile_gram(queries, q0 as usize, nq, first as usize, nr, lo, hi),
            // Other intervals: the canonical distances themselves.
            (interval, ..) => return canonical_bounds(self, queries, qs, rows, interval),
        };
        let nr = rows.len();
        assert_eq!(raw.len(), qs.len() * nr, "pcct: one bound per pair");
        match rows {
            Points::Run { first, .. } if qs.len() == 1 => {
                self.raw_run(queries.data.row(qs.get(0) as usize), first, raw)
            }
            Points::Run { first, .. } => self.raw_multi(queries, qs, first, raw),
            Points::List(js) => {
                for (a, o) in (0..qs.len()).zip(raw.chunks_mut(nr.max(1))) {
                    let q = queries.data.row(qs.get(a) as usize);
                    for (&j, o) in js.iter().zip(o) {
                        *o = self.kernels.sq_dist(q, self.data.row(j as usize)).to_f64();
                    }
                }
            }
        }
    }

    fn permuted(&self, order: &[u32]) -> Self {
        Euclidean {
            data: self.data.permuted(order),
            kernels: self.kernels,
        }
    }

    #[inline]
    fn prefetch(&self, j: u32) {
        pcct_kernels::prefetch(self.data.row(j as usize));
    }

    fn concat(&self, other: &Self) -> Result<Self> {
        Ok(Euclidean {
            data: self.data.concat(&other.data)?,
            kernels: self.kernels,
        })
    }

    fn check_queries(&self, queries: &Self) -> Result<()> {
        if queries.data.dim() != self.data.dim() {
            return Err(Error::invalid(
                "queries",
                format!(
                    "dimension {} differs from the data's dimension {}",
                    queries.data.dim(),
                    self.data.dim()
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datagen;

    /// `distances` gives `distance`'s bits for every count (whole groups of four and
    /// the rest), f32 and f64, at scales where the canonical distance rescales tiny
    /// sums (1e-160) and where it does not, with duplicates (distance 0).
    fn check<T: Element>(values: &[f64], dim: usize) {
        let n = values.len() / dim;
        let rows: Vec<T> = values.iter().map(|&v| T::from_f64(v)).collect();
        let m = Euclidean::new(Dataset::from_rows(&rows, n, dim).unwrap()).unwrap();
        let mut rng = datagen::Rng::new(7);
        for count in 0..11 {
            let js: Vec<u32> = (0..count).map(|_| rng.below(n as u64) as u32).collect();
            let mut out = vec![f64::NAN; count];
            for q in [0, 3, n as u32 - 1] {
                m.distances(&m, q, &js, &mut out);
                for (&j, &d) in js.iter().zip(&out) {
                    assert_eq!(
                        d.to_bits(),
                        m.distance(&m, q, j).to_bits(),
                        "q {q} j {j} count {count}"
                    );
                }
            }
        }
    }

    #[test]
    fn several_distances_equal_one_at_a_time() {
        for (dim, scale) in [(1, 1.0), (3, 1e-160), (8, 1.0), (32, 1e9), (33, 1e-160)] {
            let values = datagen::scaled(datagen::with_duplicates(40, dim, 0.5, dim as u64), scale);
            check::<f64>(&values, dim);
            check::<f32>(
                &datagen::scaled(values, if scale < 1e-100 { 1e150 } else { 1.0 }),
                dim,
            );
        }
    }
}
