//! The residual-correlation metric of Vecchia-inducing-points GP models (DESIGN.md §5).
//!
//! ```text
//! K_ZZ + jitter·σ²·I = L Lᵀ          (Cholesky, f64)
//! v_i = L⁻¹ k_Z(x_i)                 (forward substitution; V row-major, n × m)
//! p_i = k(x_i, x_i) − ‖v_i‖²         (residual variance)
//! ρ_ij = (k(x_i, x_j) − v_i·v_j) / √(p_i p_j),   clamped to [−1, 1]
//! d_ij = √(1 − |ρ_ij|)               (chordal distance between ±-unit vectors: a metric)
//! ```
//!
//! Canonical distance: the formula above in f64, dot products summed in eight
//! interleaved partial sums combined pairwise (a fixed order: identical on every
//! thread). A point whose residual variance is at most `floor = 1e-12·σ²` has no
//! residual to correlate: its distance is 1 to any point but one with the same
//! coordinates and residual vector (still a metric: 1 is the largest distance). Points
//! with the same coordinates and residual vector are at 0, whatever the rounding.
//!
//! Rounding: `|Δρ| ≤ c·(m + d + 16)·ε·σ² / p_min`, so a canonical distance is within
//! `√|Δρ|` of the exact one; [`Metric::errors`] reports that (`distance_abs`), and the tree
//! widens its pruning by it so that answers stay exact.

use super::covariance::Bracket;
pub use super::covariance::{Kernel, KernelKind};
use super::model::Model;
use super::{canonical_bounds, Bounds, Capabilities, Errors, Metric, Points};
use crate::kernels::residual::{tile_intervals, Bf16Dot, Phase1, Row, TileQuery};
use crate::pool::Pool;
use crate::{Error, Result};
use rayon::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The canonical dot product (`pcct_kernels::canonical::dot`): eight interleaved partial
/// sums, each product rounded then added (never fused), combined pairwise — the same
/// bits on every CPU and path (AVX where the CPU has it).
#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    crate::kernels::canonical::dot(a, b)
}

/// Audit mode's counters: phase-1 rejections, and those the exact distance
/// contradicts (misses; a correct bound never has any). Shared by every copy of the
/// metric it was switched on for (the tree's permuted copy included).
#[derive(Debug, Default)]
pub struct Audit {
    rejections: AtomicU64,
    misses: AtomicU64,
}

impl Audit {
    /// Rows phase 1 ruled out so far.
    pub fn rejections(&self) -> u64 {
        self.rejections.load(Ordering::Relaxed)
    }

    /// Rejected rows whose canonical distance was within the radius after all.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// Counts a rejection of row `j` for query `i` at `cut`, and a miss if its
    /// canonical distance is within `cut` after all (kept out of line: the metric's
    /// hook only tests whether auditing is on).
    #[inline(never)]
    fn check(&self, data: &Residual, queries: &Residual, i: u32, j: u32, cut: f64) {
        self.rejections.fetch_add(1, Ordering::Relaxed);
        if data.distance(queries, i, j) <= cut {
            self.misses.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Phase 1 of the two-phase kernel: a bf16 copy of `V/σ` (`n × m`) and each row's
/// `‖v‖` and `√p` (`pcct_kernels::residual`).
#[derive(Clone, Debug)]
struct Coarse {
    bound: Phase1,
    v16: Vec<u16>,
    rows: Vec<Row>,
    dot: Bf16Dot,
}

impl Coarse {
    /// The constants and kernel path, with empty rows.
    fn clone_constants(&self) -> Self {
        Coarse {
            bound: self.bound,
            v16: Vec::new(),
            rows: Vec::new(),
            dot: self.dot,
        }
    }

    /// The coarse rows of `v` (`n × m`) with residual variances `p`.
    /// On `pool` where given (blocks of rows in parallel; the same values either way).
    fn new(v: &[f64], m: usize, p: &[f64], variance: f64, slack: f64, pool: Option<&Pool>) -> Result<Self> {
        const BLOCK: usize = 256;
        let bound = Phase1::new(m, variance, slack);
        let floor = 1e-12 * variance;
        let mut v16 = vec![0u16; v.len()];
        let mut rows = vec![Row::default(); p.len()];
        // One block: (bf16 rows out, f64 rows), (row summaries out, residual variances).
        type Block<'a> = ((&'a mut [u16], &'a [f64]), (&'a mut [Row], &'a [f64]));
        let fill = |((out, row), (info, p)): Block<'_>| {
            for (((out, row), info), &q) in out.chunks_exact_mut(m).zip(row.chunks_exact(m)).zip(info).zip(p)
            {
                bound.encode(row, out);
                *info = Row {
                    norm: dot(row, row).sqrt(),
                    sqrt_p: if q > floor { q.sqrt() } else { 0.0 },
                };
            }
        };
        let blocks = v16
            .chunks_mut(BLOCK * m)
            .zip(v.chunks(BLOCK * m))
            .zip(rows.chunks_mut(BLOCK).zip(p.chunks(BLOCK)));
        match pool {
            Some(pool) => pool.install(|| blocks.par_bridge().for_each(fill)),
            None => blocks.for_each(fill),
        }
        Ok(Coarse {
            bound,
            v16,
            rows,
            dot: Bf16Dot::active()?,
        })
    }
}

/// The residual-correlation metric over points with coordinates `X`.
#[derive(Clone, Debug)]
pub struct Residual {
    pub(crate) x: Vec<f64>,
    pub(crate) dim: usize,
    pub(crate) v: Vec<f64>,
    pub(crate) m: usize,
    pub(crate) p: Vec<f64>,
    sqrt_p: Vec<f64>,
    pub(crate) kernel: Arc<Kernel>,
    pub(crate) model: Option<Arc<Model>>,
    floor: f64,
    /// [`Metric::errors`]' `distance_abs`, computed once from the smallest `p`.
    pub(crate) abs_error: f64,
    coarse: Coarse,
    /// Phase 1's kernel values: table brackets instead of `exp`.
    bracket: Arc<Bracket>,
    audit: Option<Arc<Audit>>,
}

pub(super) fn check_matrix(what: &'static str, values: &[f64], rows: usize, cols: usize) -> Result<()> {
    if rows.checked_mul(cols) != Some(values.len()) {
        return Err(Error::invalid(
            what,
            format!("{} values for {rows} × {cols}", values.len()),
        ));
    }
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(Error::invalid(
            what,
            format!("non-finite value {} at row {}", values[i], i / cols.max(1)),
        ));
    }
    Ok(())
}

/// Rows of a row-major matrix with `cols` columns (an error if ragged or `cols = 0`).
pub(super) fn rows(what: &'static str, values: &[f64], cols: usize) -> Result<usize> {
    if cols == 0 || !values.len().is_multiple_of(cols) {
        return Err(Error::invalid(
            what,
            format!("{} values do not form rows of {cols}", values.len()),
        ));
    }
    Ok(values.len() / cols)
}

impl Residual {
    /// The metric from supplied residual parts: coordinates `x` (`n × dim`), `V`
    /// (`n × m`, row-major) and `p` (`n`), under `kernel`. `p` must equal
    /// `σ² − ‖v_i‖²` to within `1e-8·σ²` (it is then recomputed canonically).
    pub fn from_parts(
        x: &[f64],
        n: usize,
        dim: usize,
        v: &[f64],
        m: usize,
        p: &[f64],
        kernel: Kernel,
    ) -> Result<Self> {
        check_matrix("data", x, n, dim)?;
        check_matrix("V", v, n, m)?;
        check_matrix("p", p, n, 1)?;
        kernel.check_dim(dim)?;
        if n == 0 || m == 0 {
            return Err(Error::invalid(
                "data",
                format!("need points and columns (n = {n}, m = {m})"),
            ));
        }
        // The chordal-metric argument needs p_i = k(x_i, x_i) − ‖v_i‖² (= σ² − ‖v_i‖²):
        // recompute it, and refuse parts that disagree.
        let own: Vec<f64> = v.chunks_exact(m).map(|r| kernel.variance - dot(r, r)).collect();
        if let Some(i) = (0..n).find(|&i| (own[i] - p[i]).abs() > 1e-8 * kernel.variance) {
            return Err(Error::invalid(
                "p",
                format!(
                    "p[{i}] = {} but σ² − ‖v_{i}‖² = {}: V and p do not belong together",
                    p[i], own[i]
                ),
            ));
        }
        Self::assemble(x.to_vec(), dim, v.to_vec(), m, own, Arc::new(kernel), None, None)
    }

    /// The metric from its parts (`p` already canonical), the coarse rows built on `pool`
    /// where given.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn assemble(
        x: Vec<f64>,
        dim: usize,
        v: Vec<f64>,
        m: usize,
        p: Vec<f64>,
        kernel: Arc<Kernel>,
        model: Option<Arc<Model>>,
        pool: Option<&Pool>,
    ) -> Result<Self> {
        if p.len() > super::MAX_POINTS {
            return Err(Error::invalid(
                "data",
                format!("{} points exceed the u32 id limit", p.len()),
            ));
        }
        let floor = 1e-12 * kernel.variance;
        let sqrt_p = p
            .iter()
            .map(|&q| if q > floor { q.sqrt() } else { 0.0 })
            .collect();
        // |Δρ| ≤ 8(m + d + 16)·ε·σ² / p_min (p_min: the smallest p above the floor).
        let p_min = p
            .iter()
            .copied()
            .filter(|&q| q > floor)
            .fold(f64::INFINITY, f64::min)
            .min(kernel.variance);
        let abs_error = (8.0 * (m + dim + 16) as f64 * f64::EPSILON * kernel.variance / p_min).sqrt();
        let coarse = Coarse::new(&v, m, &p, kernel.variance, abs_error * abs_error, pool)?;
        Ok(Residual {
            coarse,
            bracket: Arc::new(Bracket::new(&kernel)),
            audit: None,
            abs_error,
            x,
            dim,
            v,
            m,
            p,
            sqrt_p,
            kernel,
            model,
            floor,
        })
    }

    /// The metric with its absolute error bound raised to at least `abs_error` (a
    /// loaded tree keeps the bound it was built with: it may cover points deleted since).
    pub(crate) fn with_abs_error(mut self, abs_error: f64) -> Self {
        let e = self.abs_error.max(abs_error);
        self.abs_error = e;
        self.coarse.bound = self.coarse.bound.with_slack(e * e);
        self
    }

    /// Switches audit mode on: from now on every row phase 1 rules out in a search is
    /// measured exactly as well, and [`Residual::audit`] counts rejections and misses
    /// (a rejected row that was within the search radius after all: there must be
    /// none). Slower; for tests and `pcct knn --audit`.
    pub fn with_audit(mut self) -> Self {
        self.audit = Some(Arc::new(Audit::default()));
        self
    }

    /// Audit mode's counters, if it is on (shared with every copy of this metric).
    pub fn audit(&self) -> Option<Arc<Audit>> {
        self.audit.clone()
    }

    /// The median of `p_i / σ²` over the points: near the jitter, the residual variance
    /// is rounding and the neighbours are noise (inducing points on top of the data).
    pub fn median_relative_variance(&self) -> f64 {
        let mut pv = self.p.clone();
        let mid = pv.len() / 2;
        let (_, median, _) = pv.select_nth_unstable_by(mid, f64::total_cmp);
        *median / self.kernel.variance
    }

    /// The rows `v_i` of `V` (row-major, [`Residual::rank`] columns), in this metric's
    /// point order (a tree's metric holds them in layout order: read them through
    /// [`crate::Tree::points`]).
    pub fn factor(&self) -> &[f64] {
        &self.v
    }

    /// The residual variances `p_i` of the points.
    pub fn residual_variance(&self) -> &[f64] {
        &self.p
    }

    /// The kernel.
    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// Columns of `V` (inducing points).
    pub fn rank(&self) -> usize {
        self.m
    }

    /// Phase 1's constants for pairs of `queries` and `self`: the larger of the two
    /// rounding slacks covers the pair.
    fn pair_bound(&self, queries: &Self) -> Phase1 {
        if queries.abs_error > self.abs_error {
            queries.coarse.bound
        } else {
            self.coarse.bound
        }
    }

    fn row_v(&self, i: u32) -> &[f64] {
        &self.v[i as usize * self.m..(i as usize + 1) * self.m]
    }

    fn row_x(&self, i: u32) -> &[f64] {
        &self.x[i as usize * self.dim..(i as usize + 1) * self.dim]
    }

    /// Phase 1 from query `i` to row `j` alone (tree children, the builder): no block
    /// buffers.
    #[inline(always)]
    fn phase1_one(&self, queries: &Self, i: u32, j: u32) -> (f64, f64) {
        let (cq, cd, m) = (&queries.coarse, &self.coarse, self.m);
        let (xq, rq) = (queries.row_x(i), cq.rows[i as usize]);
        let vq = &cq.v16[i as usize * m..(i as usize + 1) * m];
        let ju = j as usize;
        let s = cd.dot.dot(vq, &cd.v16[ju * m..(ju + 1) * m]);
        let (klo, khi) = self.bracket.bracket(xq, self.row_x(j));
        self.pair_bound(queries).bounds(s, klo, khi, rq, cd.rows[ju])
    }

    /// Phase 1 from query `i` to rows `first..first + lo.len()`: bf16 dot products
    /// (one row alone, or blocks of 64) and the kernel's table bracket.
    fn phase1_run(&self, queries: &Self, i: u32, first: u32, lo: &mut [f64], hi: &mut [f64]) {
        const STEP: usize = 64;
        let (cq, cd) = (&queries.coarse, &self.coarse);
        let m = self.m;
        if let ([l], [h]) = (&mut *lo, &mut *hi) {
            (*l, *h) = self.phase1_one(queries, i, first);
            return;
        }
        let bound = self.pair_bound(queries);
        let (xq, rq) = (queries.row_x(i), cq.rows[i as usize]);
        let vq = &cq.v16[i as usize * m..(i as usize + 1) * m];
        let mut s = [0f32; STEP];
        let (mut klo, mut khi) = ([0f64; STEP], [0f64; STEP]);
        let mut at = 0;
        while at < lo.len() {
            let len = (lo.len() - at).min(STEP);
            let j0 = first as usize + at;
            cd.dot
                .dot_block(vq, &cd.v16[j0 * m..(j0 + len) * m], m, &mut s[..len]);
            for r in 0..len {
                (klo[r], khi[r]) = self.bracket.bracket(xq, self.row_x((j0 + r) as u32));
            }
            bound.bounds_block(
                &s[..len],
                &klo[..len],
                &khi[..len],
                rq,
                &cd.rows[j0..j0 + len],
                &mut lo[at..at + len],
                &mut hi[at..at + len],
            );
            at += len;
        }
    }

    /// Intervals for the tile of queries `q0..q0 + nq` × rows `first..first + nr`: the
    /// dot products as one `f64` matrix product `V_Q·V_Rᵀ` (tighter than phase 1).
    #[allow(clippy::too_many_arguments)]
    fn tile_product(
        &self,
        queries: &Self,
        q0: u32,
        nq: usize,
        first: u32,
        nr: usize,
        lo: &mut [f64],
        hi: &mut [f64],
    ) {
        let m = self.m;
        let (q0, first) = (q0 as usize, first as usize);
        // lo holds the dot products first: the tile V_Q·V_Rᵀ, one product (each caller's
        // thread runs its own tiles: sequential inside), the vector state clean after it
        // for the kernel's `exp`.
        super::product_nt(
            &queries.v[q0 * m..(q0 + nq) * m],
            &self.v[first * m..(first + nr) * m],
            m,
            &mut lo[..nq * nr],
        );
        // Any f64 summation order of m products: |Δ| ≤ 1.03·m·ε·‖v_q‖‖v_j‖.
        let c = 1.03 * (m + 2) as f64 * f64::EPSILON;
        let slack = self.pair_bound(queries).slack();
        let ke = Kernel::ROWS_REL_ERROR;
        let xs = &self.x[first * self.dim..(first + nr) * self.dim];
        let rows = &self.coarse.rows[first..first + nr];
        for qa in 0..nq {
            let (xq, rq) = (queries.row_x((q0 + qa) as u32), queries.coarse.rows[q0 + qa]);
            // The kernel values go to `hi` first (vectorized exp), then both become bounds.
            let (lo, hi) = (&mut lo[qa * nr..(qa + 1) * nr], &mut hi[qa * nr..(qa + 1) * nr]);
            self.kernel.eval_rows(xq, xs, hi);
            let tq = TileQuery {
                row: rq,
                dot_error: c,
                kernel_error: ke,
                kernel_abs: self.kernel.rows_abs_error(self.dim),
                slack,
            };
            tile_intervals(&tq, rows, lo, hi);
        }
    }

    /// [`Metric::bounds`] past the one-pair case.
    fn bounds_general(&self, queries: &Self, qs: Points<'_>, rows: Points<'_>, out: Bounds<'_>) {
        let nr = rows.len();
        let (lo, hi) = match out {
            Bounds::Interval { lo, hi } => (lo, hi),
            raw => return canonical_bounds(self, queries, qs, rows, raw),
        };
        assert!(
            lo.len() == qs.len() * nr && hi.len() == lo.len(),
            "pcct: one bound per pair"
        );
        match (qs, rows) {
            (Points::Run { first: q0, len: nq }, Points::Run { first, .. }) => {
                self.tile_product(queries, q0, nq, first, nr, lo, hi)
            }
            (_, Points::Run { first, .. }) => {
                for a in 0..qs.len() {
                    let at = a * nr..(a + 1) * nr;
                    self.phase1_run(queries, qs.get(a), first, &mut lo[at.clone()], &mut hi[at]);
                }
            }
            (_, Points::List(js)) => self.phase1_pairs(queries, qs, js, lo, hi),
        }
    }

    /// Phase 1 for the queries `qs` × the listed rows, one row at a time.
    fn phase1_pairs(&self, queries: &Self, qs: Points<'_>, rows: &[u32], lo: &mut [f64], hi: &mut [f64]) {
        const STEP: usize = 64;
        let (cq, cd) = (&queries.coarse, &self.coarse);
        let m = self.m;
        let bound = self.pair_bound(queries);
        let nr = rows.len();
        let mut s = [0f32; STEP];
        let (mut klo, mut khi) = ([0f64; STEP], [0f64; STEP]);
        let mut info = [Row::default(); STEP];
        for a in 0..qs.len() {
            let q = qs.get(a);
            let (xq, rq) = (queries.row_x(q), cq.rows[q as usize]);
            let vq = &cq.v16[q as usize * m..(q as usize + 1) * m];
            // Per chunk of rows: the dot products, then the kernel brackets, then the
            // bounds in one (vectorizable) pass.
            for (c, chunk) in rows.chunks(STEP).enumerate() {
                let len = chunk.len();
                for (r, &j) in chunk.iter().enumerate() {
                    let ju = j as usize;
                    s[r] = cd.dot.dot(vq, &cd.v16[ju * m..(ju + 1) * m]);
                    (klo[r], khi[r]) = self.bracket.bracket(xq, self.row_x(j));
                    info[r] = cd.rows[ju];
                }
                let at = a * nr + c * STEP;
                bound.bounds_block(
                    &s[..len],
                    &klo[..len],
                    &khi[..len],
                    rq,
                    &info[..len],
                    &mut lo[at..at + len],
                    &mut hi[at..at + len],
                );
            }
        }
    }
}

impl Metric for Residual {
    fn len(&self) -> usize {
        self.p.len()
    }

    fn distance(&self, queries: &Self, i: u32, j: u32) -> f64 {
        let (si, sj) = (queries.sqrt_p[i as usize], self.sqrt_p[j as usize]);
        let (xi, xj) = (queries.row_x(i), self.row_x(j));
        let (vi, vj) = (queries.row_v(i), self.row_v(j));
        // Identical points are at 0 exactly (the formula can leave a rounding's square
        // root, ~1e-8, where √p·√p ≠ p); at the residual floor every other pair is at 1.
        if xi == xj && vi == vj {
            return 0.0;
        }
        if si == 0.0 || sj == 0.0 {
            return 1.0;
        }
        let rho = (self.kernel.eval(xi, xj) - dot(vi, vj)) / (si * sj);
        (1.0 - rho.abs().min(1.0)).sqrt()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            coordinate_dim: self.dim,
            two_phase: true,
            tiles_pay: true,
            ..Capabilities::default()
        }
    }

    fn errors(&self) -> Errors {
        Errors {
            distance_abs: self.abs_error,
            ..Errors::default()
        }
    }

    /// Intervals: a run of queries against a run of rows as one `f64` matrix product
    /// (the dense engine, scans of consecutive queries), otherwise phase 1 (bf16
    /// dot products, kernel brackets). Raw values, where asked for, are the canonical
    /// distances.
    #[inline]
    fn bounds(&self, queries: &Self, qs: Points<'_>, rows: Points<'_>, mut out: Bounds<'_>) {
        // One query against one row of a run (searches, the builder): the pair alone.
        if let (Points::List(&[q]), Points::Run { first, len: 1 }, Bounds::Interval { lo: [l], hi: [h] }) =
            (qs, rows, &mut out)
        {
            (*l, *h) = self.phase1_one(queries, q, first);
            return;
        }
        self.bounds_general(queries, qs, rows, out);
    }

    #[inline]
    fn rejected(&self, queries: &Self, i: u32, j: u32, cut: f64) {
        if let Some(a) = &self.audit {
            a.check(self, queries, i, j, cut);
        }
    }

    fn coordinates(&self, i: u32, out: &mut [f64]) {
        out.copy_from_slice(self.row_x(i));
    }

    fn permuted(&self, order: &[u32]) -> Self {
        let pick = |src: &[f64], w: usize| -> Vec<f64> {
            order
                .iter()
                .flat_map(|&o| src[o as usize * w..(o as usize + 1) * w].iter().copied())
                .collect()
        };
        let m = self.m;
        let v16 = order
            .iter()
            .flat_map(|&o| {
                self.coarse.v16[o as usize * m..(o as usize + 1) * m]
                    .iter()
                    .copied()
            })
            .collect();
        let rows = order.iter().map(|&o| self.coarse.rows[o as usize]).collect();
        Residual {
            coarse: Coarse {
                v16,
                rows,
                ..self.coarse.clone_constants()
            },
            bracket: self.bracket.clone(),
            audit: self.audit.clone(),
            x: pick(&self.x, self.dim),
            v: pick(&self.v, self.m),
            p: pick(&self.p, 1),
            sqrt_p: pick(&self.sqrt_p, 1),
            dim: self.dim,
            m: self.m,
            kernel: self.kernel.clone(),
            model: self.model.clone(),
            floor: self.floor,
            abs_error: self.abs_error,
        }
    }

    fn concat(&self, other: &Self) -> Result<Self> {
        self.check_queries(other).map_err(|_| {
            Error::invalid(
                "points",
                "new points must come from the same model (dimension, inducing points, kernel)".into(),
            )
        })?;
        let cat = |a: &[f64], b: &[f64]| [a, b].concat();
        // The bound grows as the smallest p shrinks: the larger of the two covers both.
        let abs_error = self.abs_error.max(other.abs_error);
        let coarse = Coarse {
            bound: self.coarse.bound.with_slack(abs_error * abs_error),
            v16: [&self.coarse.v16[..], &other.coarse.v16[..]].concat(),
            rows: [&self.coarse.rows[..], &other.coarse.rows[..]].concat(),
            dot: self.coarse.dot,
        };
        Ok(Residual {
            coarse,
            bracket: self.bracket.clone(),
            audit: self.audit.clone(),
            x: cat(&self.x, &other.x),
            v: cat(&self.v, &other.v),
            p: cat(&self.p, &other.p),
            sqrt_p: cat(&self.sqrt_p, &other.sqrt_p),
            dim: self.dim,
            m: self.m,
            kernel: self.kernel.clone(),
            model: self.model.clone().or_else(|| other.model.clone()),
            floor: self.floor,
            abs_error,
        })
    }

    fn check_queries(&self, queries: &Self) -> Result<()> {
        if queries.dim != self.dim || queries.m != self.m || queries.kernel != self.kernel {
            return Err(Error::invalid(
                "queries",
                format!(
                    "queries (dimension {}, {} inducing) do not match the data (dimension {}, {} inducing) or its kernel",
                    queries.dim, queries.m, self.dim, self.m
                ),
            ));
        }
        Ok(())
    }
}
