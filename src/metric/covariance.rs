//! Stationary covariance kernels, and cheap rigorous brackets of their values.

use crate::{Error, Result};

/// The covariance family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelKind {
    /// Squared exponential: `σ² exp(−r²/2)`.
    Rbf,
    /// Matérn ν = 1/2: `σ² exp(−r)`.
    Matern12,
    /// Matérn ν = 3/2: `σ² (1 + √3 r) exp(−√3 r)`.
    Matern32,
    /// Matérn ν = 5/2: `σ² (1 + √5 r + 5r²/3) exp(−√5 r)`.
    Matern52,
}

impl KernelKind {
    /// The name `FromStr` accepts: `rbf`, `matern12`, `matern32`, `matern52`.
    pub fn name(self) -> &'static str {
        match self {
            KernelKind::Rbf => "rbf",
            KernelKind::Matern12 => "matern12",
            KernelKind::Matern32 => "matern32",
            KernelKind::Matern52 => "matern52",
        }
    }
}

impl std::str::FromStr for KernelKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "rbf" => Ok(KernelKind::Rbf),
            "matern12" => Ok(KernelKind::Matern12),
            "matern32" => Ok(KernelKind::Matern32),
            "matern52" => Ok(KernelKind::Matern52),
            _ => Err(Error::invalid(
                "kernel",
                format!("unknown kernel {s:?} (expected rbf, matern12, matern32 or matern52)"),
            )),
        }
    }
}

/// A stationary kernel: family, variance `σ²` and lengthscales (one, or one per
/// dimension); `r = ‖(x − y) / ℓ‖`.
#[derive(Clone, Debug, PartialEq)]
pub struct Kernel {
    pub(crate) kind: KernelKind,
    pub(crate) variance: f64,
    pub(crate) inv_lengthscales: Vec<f64>,
}

impl Kernel {
    /// A kernel; errors unless the variance and every lengthscale are finite and positive.
    pub fn new(kind: KernelKind, variance: f64, lengthscales: &[f64]) -> Result<Self> {
        if !(variance.is_finite() && variance > 0.0) {
            return Err(Error::invalid(
                "variance",
                format!("must be finite and > 0, got {variance}"),
            ));
        }
        if lengthscales.is_empty() || lengthscales.iter().any(|l| !(l.is_finite() && *l > 0.0)) {
            return Err(Error::invalid(
                "lengthscale",
                format!("need one or more finite values > 0, got {lengthscales:?}"),
            ));
        }
        Ok(Kernel {
            kind,
            variance,
            inv_lengthscales: lengthscales.iter().map(|l| 1.0 / l).collect(),
        })
    }

    /// The family.
    pub fn kind(&self) -> KernelKind {
        self.kind
    }

    /// The variance `σ²`.
    pub fn variance(&self) -> f64 {
        self.variance
    }

    pub(crate) fn check_dim(&self, dim: usize) -> Result<()> {
        let l = self.inv_lengthscales.len();
        if l != 1 && l != dim {
            return Err(Error::invalid(
                "lengthscale",
                format!("{l} lengthscales for {dim}-dimensional points (give 1 or {dim})"),
            ));
        }
        Ok(())
    }

    /// `r² = ‖(a − b)/ℓ‖²`.
    #[inline]
    fn r2(&self, a: &[f64], b: &[f64]) -> f64 {
        let il = &self.inv_lengthscales;
        if il.len() == 1 {
            a.iter().zip(b).map(|(x, y)| ((x - y) * il[0]).powi(2)).sum()
        } else {
            a.iter()
                .zip(b)
                .zip(il)
                .map(|((x, y), s)| ((x - y) * s).powi(2))
                .sum()
        }
    }

    /// `k(a, b)` (same length; lengthscales checked against it by the constructors).
    pub fn eval(&self, a: &[f64], b: &[f64]) -> f64 {
        self.variance * self.shape(self.r2(a, b))
    }

    /// `k(a, x_j)` for every row `x_j` of `xs` (row-major, `a.len()` columns) into `out`,
    /// vectorized ([`crate::kernels::math::kernel_rows`]): for bounds only, each value
    /// within [`Kernel::ROWS_REL_ERROR`] relative plus [`Kernel::rows_abs_error`] of the exact
    /// kernel (canonical distances use [`Kernel::eval`]).
    pub(crate) fn eval_rows(&self, a: &[f64], xs: &[f64], out: &mut [f64]) {
        use crate::kernels::math::{kernel_rows, Family};
        let family = match self.kind {
            KernelKind::Rbf => Family::Rbf,
            KernelKind::Matern12 => Family::Matern12,
            KernelKind::Matern32 => Family::Matern32,
            KernelKind::Matern52 => Family::Matern52,
        };
        kernel_rows(family, self.variance, &self.inv_lengthscales, a, xs, out);
    }

    /// Relative error bound of [`Kernel::eval_rows`] against the exact kernel: the
    /// vectorized `exp`'s, plus a few roundings of `√`, the polynomial factor and the
    /// products (each ≤ 2⁻⁵³), with room to spare; see [`Kernel::rows_abs_error`] for the rest.
    pub(crate) const ROWS_REL_ERROR: f64 = 2.0 * crate::kernels::math::EXP_REL_ERROR + 64.0 * f64::EPSILON;

    /// Absolute error bound of [`Kernel::eval_rows`] on top of the relative one, for `dim`
    /// coordinates: `r²`'s rounding ((dim + 2)·ε relative) moves the exponent, which moves
    /// `k` by at most `(dim + 2)·ε·σ²·max(x·e^(−x))`-like amounts (every family), and
    /// arguments below −708 give 0 (a true value below 1e−300·σ²).
    pub(crate) fn rows_abs_error(&self, dim: usize) -> f64 {
        (dim as f64 + 4.0) * f64::EPSILON * self.variance
    }

    /// The family's shape `k/σ²` at `r²`: decreasing in `r` for all four families.
    fn shape(&self, r2: f64) -> f64 {
        let r = r2.sqrt();
        if r > 1e4 {
            // Every family has underflowed to 0 long before (and Matérn's polynomial
            // factor would overflow into ∞·0 for astronomically large r).
            return 0.0;
        }
        match self.kind {
            KernelKind::Rbf => (-0.5 * r2).exp(),
            KernelKind::Matern12 => (-r).exp(),
            KernelKind::Matern32 => {
                let s = 3f64.sqrt() * r;
                (1.0 + s) * (-s).exp()
            }
            KernelKind::Matern52 => {
                let s = 5f64.sqrt() * r;
                (1.0 + s + s * s / 3.0) * (-s).exp()
            }
        }
    }
}

/// Bins of a [`Bracket`] table.
const BINS: usize = 2048;

/// Rigorous brackets `[lo, hi] ∋ k(a, b)` from a table of the shape over `r`
/// (every family is decreasing in `r`): `r` between grid points `i·h` and `j·h` puts
/// `k` between the table's values there, widened for the rounding of `r` and of the
/// table. Costs `r²`, a square root and two loads instead of an `exp`.
#[derive(Clone, Debug)]
pub(crate) struct Bracket {
    kernel: Kernel,
    inv_step: f64,
    /// `σ²·shape(i·h)`, rounded up / down.
    hi: Vec<f64>,
    lo: Vec<f64>,
}

impl Bracket {
    /// The table for `kernel`: `BINS` bins up to the `r` where the shape falls below 1e-18.
    pub(crate) fn new(kernel: &Kernel) -> Self {
        let mut r_max = 1.0;
        while kernel.shape(r_max * r_max) > 1e-18 {
            r_max *= 1.5;
        }
        let step = r_max / BINS as f64;
        let at = |i: usize| {
            let r = i as f64 * step;
            kernel.variance * kernel.shape(r * r)
        };
        const WIDEN: f64 = 1e-13;
        Bracket {
            kernel: kernel.clone(),
            inv_step: 1.0 / step,
            hi: (0..=BINS).map(|i| at(i) * (1.0 + WIDEN)).collect(),
            lo: (0..=BINS).map(|i| at(i) * (1.0 - WIDEN)).collect(),
        }
    }

    /// `(lo, hi)` with `lo ≤ k(a, b) ≤ hi` (the exact value, not only the rounded one).
    #[inline]
    pub(crate) fn bracket(&self, a: &[f64], b: &[f64]) -> (f64, f64) {
        let t = self.kernel.r2(a, b).sqrt() * self.inv_step;
        // r is known to a relative 1e-12 (far above its rounding).
        let (below, above) = (t * (1.0 - 1e-12), t * (1.0 + 1e-12) + 1e-300);
        let hi = if below >= BINS as f64 {
            self.hi[BINS]
        } else {
            self.hi[below as usize]
        };
        let j = above.ceil();
        let lo = if j > BINS as f64 { 0.0 } else { self.lo[j as usize] };
        (lo, hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datagen::Rng;

    #[test]
    fn astronomically_far_points_have_zero_covariance_not_nan() {
        for kind in [
            KernelKind::Rbf,
            KernelKind::Matern12,
            KernelKind::Matern32,
            KernelKind::Matern52,
        ] {
            let k = Kernel::new(kind, 1.0, &[1.0]).unwrap();
            for far in [1e4, 1e100, 1e200, f64::MAX] {
                assert_eq!(k.eval(&[0.0], &[far]), 0.0, "{kind:?} at {far}");
            }
            // Just below the cut-off the formula itself has already underflowed to 0.
            assert_eq!(k.eval(&[0.0], &[9_999.0]), 0.0, "{kind:?}");
        }
    }

    #[test]
    fn brackets_contain_the_kernel_and_are_narrow() {
        let mut rng = Rng::new(5);
        for kind in [
            KernelKind::Rbf,
            KernelKind::Matern12,
            KernelKind::Matern32,
            KernelKind::Matern52,
        ] {
            for ls in [&[0.2][..], &[0.5, 1.5, 0.05]] {
                let k = Kernel::new(kind, 2.5, ls).unwrap();
                let br = Bracket::new(&k);
                let mut widest: f64 = 0.0;
                for case in 0..20_000 {
                    let scale = [0.01, 0.3, 3.0, 40.0][case % 4];
                    let a: Vec<f64> = (0..3).map(|_| rng.uniform() * scale).collect();
                    let b: Vec<f64> = (0..3).map(|_| rng.uniform() * scale).collect();
                    let v = k.eval(&a, &b);
                    let (lo, hi) = br.bracket(&a, &b);
                    assert!(lo <= v && v <= hi, "{kind:?} {ls:?}: {lo} ≤ {v} ≤ {hi}");
                    if v > 1e-3 {
                        widest = widest.max((hi - lo) / v);
                    }
                }
                assert!(widest < 0.2, "{kind:?} {ls:?}: relative width {widest}");
            }
        }
        let k = Kernel::new(KernelKind::Rbf, 1.0, &[1.0]).unwrap();
        assert_eq!(Bracket::new(&k).bracket(&[0.0], &[0.0]).1, 1.0 + 1e-13);
    }
}
