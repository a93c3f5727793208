//! Euclidean distance bounds from a Gram matrix: `‖q − x‖² = ‖q‖² + ‖x‖² − 2·q·x`, with
//! the dot products from any matrix product (any summation order), bounded rigorously.
//!
//! ```text
//! est = ‖q‖² + ‖x‖² − 2g          g: the product's q·x
//! err = γ·(‖q‖ + ‖x‖)² + 1e-300   γ covers g's rounding (dim·ε·‖q‖‖x‖), the norms', the
//!                                 sum's and the centring of the coordinates; the floor,
//!                                 underflow (coordinates near 1e-160 and below)
//! d ∈ [√max(est − err, 0), √max(est − err, 0) + √(2·err)]  (√(a + b) ≤ √a + √b: one
//! square root per pair), then widened by the canonical distance's own error (relative
//! `rel`, absolute `abs`) and the roundings
//! ```

/// The absolute floor of the squared bounds' error, and its square root.
const UNDERFLOW_SQ: f64 = 1e-300;
const UNDERFLOW: f64 = 1e-150;

/// The query side of [`intervals`].
#[derive(Clone, Copy, Debug)]
pub struct GramQuery {
    /// `‖q‖²`.
    pub sq_norm: f64,
    /// `γ` (see the module notes).
    pub gamma: f64,
    /// The canonical distance's relative error bound.
    pub rel: f64,
    /// The canonical distance's absolute error bound.
    pub abs: f64,
}

/// `γ` for `dim` coordinates: `(2·dim + 16)·ε` (the product's `dim·ε·‖q‖‖x‖` is at most
/// `dim·ε/2·(‖q‖ + ‖x‖)²`; norms, sum and centring add a few ε each).
pub fn gamma(dim: usize) -> f64 {
    (2.0 * dim as f64 + 16.0) * f64::EPSILON
}

/// Squared norms and norms of a tile's rows: what [`intervals`] needs of them.
#[derive(Clone, Copy, Debug)]
pub struct GramRows<'a> {
    /// `‖x_j‖²`.
    pub sq_norms: &'a [f64],
    /// `‖x_j‖` (at least the square root of `sq_norms[j]`, rounded up or exact).
    pub norms: &'a [f64],
}

widest! {
    /// One query's row of a tile: `dots[j] = q·x_j` becomes bounds of the canonical
    /// distances to the rows, `lo` in `dots` and `hi` in `hi`.
    pub fn intervals(q: &GramQuery, rows: GramRows<'_>, dots: &mut [f64], hi: &mut [f64]) => intervals_lanes
}

#[inline(always)]
fn intervals_lanes(q: &GramQuery, rows: GramRows<'_>, dots: &mut [f64], hi: &mut [f64]) {
    let n = rows
        .sq_norms
        .len()
        .min(rows.norms.len())
        .min(dots.len())
        .min(hi.len());
    let (sq_norms, norms, dots, hi) = (
        &rows.sq_norms[..n],
        &rows.norms[..n],
        &mut dots[..n],
        &mut hi[..n],
    );
    let qn = q.sq_norm;
    let q_norm = qn.sqrt() * (1.0 + 2.0 * f64::EPSILON);
    let down = (1.0 - q.rel) * (1.0 - 4.0 * f64::EPSILON);
    let up = (1.0 + q.rel) * (1.0 + 8.0 * f64::EPSILON);
    // √(2·err) = √(2γ)·s, rounded up.
    let root = (2.0 * q.gamma).sqrt() * (1.0 + 4.0 * f64::EPSILON);
    for (((&xn, &x_norm), g), h) in sq_norms.iter().zip(norms).zip(dots.iter_mut()).zip(hi.iter_mut()) {
        let est = qn + xn - 2.0 * *g;
        let s = (q_norm + x_norm) * (1.0 + 2.0 * f64::EPSILON);
        // Relative rounding, plus an absolute floor far above what underflow can lose
        // (each of the ~2·dim operations at most 2⁻¹⁰⁷⁵ once values are subnormal).
        let err = q.gamma * s * s + UNDERFLOW_SQ;
        let base = (est - err).max(0.0).sqrt();
        *g = (base * down - q.abs).max(0.0);
        *h = (base + root * s + UNDERFLOW) * up + q.abs;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_hold_the_distance() {
        let dim = 7;
        let row = |i: usize| -> Vec<f64> {
            (0..dim)
                .map(|d| ((i * 31 + d * 17) % 23) as f64 * 0.37 - 4.0)
                .collect()
        };
        let q = row(1000);
        let xs: Vec<Vec<f64>> = (0..200).map(row).collect();
        let mut dots: Vec<f64> = xs
            .iter()
            .map(|x| x.iter().zip(&q).map(|(a, b)| a * b).sum())
            .collect();
        let sq_norms: Vec<f64> = xs.iter().map(|x| x.iter().map(|v| v * v).sum()).collect();
        let norms: Vec<f64> = sq_norms.iter().map(|v: &f64| v.sqrt()).collect();
        let gq = GramQuery {
            sq_norm: q.iter().map(|v| v * v).sum(),
            gamma: gamma(dim),
            rel: 1e-15,
            abs: 0.0,
        };
        let mut hi = vec![0.0; 200];
        let rows = GramRows {
            sq_norms: &sq_norms,
            norms: &norms,
        };
        intervals(&gq, rows, &mut dots, &mut hi);
        for (j, x) in xs.iter().enumerate() {
            let d = x
                .iter()
                .zip(&q)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                .sqrt();
            assert!(
                dots[j] <= d && d <= hi[j],
                "row {j}: {} ≤ {d} ≤ {}",
                dots[j],
                hi[j]
            );
            assert!(hi[j] - dots[j] <= 1e-5 * (1.0 + d), "row {j}: loose");
        }
    }
}
