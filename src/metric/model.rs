//! The GP model behind the residual metric: inducing points `Z`, the Cholesky factor
//! `L` of `K_ZZ + jitter·σ²·I`, and from them each point's `v_i = L⁻¹ k_Z(x_i)` and
//! residual variance `p_i` (for the data at construction, for new points as queries).

use super::residual::{check_matrix, dot, rows, Residual};
use super::Kernel;
use crate::pool::Pool;
use crate::{Error, Result};
use rayon::prelude::*;
use std::sync::Arc;

/// What new points need to get their own `v`, `p`: the inducing points and the
/// Cholesky factor.
#[derive(Debug)]
pub(crate) struct Model {
    pub(crate) z: Vec<f64>,
    pub(crate) m: usize,
    /// Lower-triangular factor, row-major `m × m`.
    pub(crate) chol: Vec<f64>,
}

/// Cholesky factor of a symmetric positive definite row-major `m × m` matrix.
fn cholesky(a: &[f64], m: usize) -> Result<Vec<f64>> {
    let mut l = vec![0.0; m * m];
    for i in 0..m {
        for j in 0..=i {
            let s = a[i * m + j] - dot(&l[i * m..i * m + j], &l[j * m..j * m + j]);
            if i == j {
                if s.is_nan() || s <= 0.0 {
                    return Err(Error::invalid(
                        "inducing",
                        format!("K_ZZ + jitter·I is not positive definite (pivot {i}: {s:e}); raise --jitter or remove repeated inducing points"),
                    ));
                }
                l[i * m + i] = s.sqrt();
            } else {
                l[i * m + j] = s / l[j * m + j];
            }
        }
    }
    Ok(l)
}

impl Residual {
    /// The metric for points `x` (`n × dim`, row-major) under `kernel` with inducing
    /// points `z` (`m × dim`, row-major): builds `V` and `p` (Cholesky of `K_ZZ + jitter·σ²·I`,
    /// default jitter 1e-6), in parallel on `pool`.
    pub fn from_inducing(
        x: &[f64],
        dim: usize,
        z: &[f64],
        kernel: Kernel,
        jitter: f64,
        pool: &Pool,
    ) -> Result<Self> {
        let n = rows("data", x, dim)?;
        let m = rows("inducing", z, dim)?;
        check_matrix("data", x, n, dim)?;
        check_matrix("inducing", z, m, dim)?;
        kernel.check_dim(dim)?;
        if n == 0 || m == 0 || dim == 0 {
            return Err(Error::invalid(
                "data",
                format!("need points, inducing points and dimensions (n = {n}, m = {m}, d = {dim})"),
            ));
        }
        if !(jitter.is_finite() && jitter >= 0.0) {
            return Err(Error::invalid(
                "jitter",
                format!("must be finite and ≥ 0, got {jitter}"),
            ));
        }
        let mut kzz = vec![0.0; m * m];
        for i in 0..m {
            for j in 0..m {
                kzz[i * m + j] = kernel.eval(&z[i * dim..(i + 1) * dim], &z[j * dim..(j + 1) * dim]);
            }
            kzz[i * m + i] += jitter * kernel.variance;
        }
        let chol = cholesky(&kzz, m)?;
        let model = Arc::new(Model {
            z: z.to_vec(),
            m,
            chol,
        });
        let kernel = Arc::new(kernel);
        Self::project(x, n, dim, kernel, model, pool)
    }

    /// `V`, `p` for points `x` under an existing model.
    fn project(
        x: &[f64],
        n: usize,
        dim: usize,
        kernel: Arc<Kernel>,
        model: Arc<Model>,
        pool: &Pool,
    ) -> Result<Self> {
        let m = model.m;
        let mut v = vec![0.0; n * m];
        pool.install(|| {
            v.par_chunks_mut(m).enumerate().for_each(|(i, row)| {
                let xi = &x[i * dim..(i + 1) * dim];
                for (j, r) in row.iter_mut().enumerate() {
                    *r = kernel.eval(&model.z[j * dim..(j + 1) * dim], xi);
                }
                // Forward substitution: L v = k_Z(x_i).
                for j in 0..m {
                    let lj = &model.chol[j * m..j * m + j];
                    row[j] = (row[j] - dot(lj, &row[..j])) / model.chol[j * m + j];
                }
            })
        });
        let p: Vec<f64> = v.chunks_exact(m).map(|r| kernel.variance - dot(r, r)).collect();
        Self::assemble(x.to_vec(), dim, v, m, p, kernel, Some(model))
    }

    /// New points `x` (row-major, the data's dimension) under the same model: their
    /// own `v`, `p` (prediction). Errors for a
    /// metric made from supplied parts (no model) or a dimension mismatch.
    pub fn queries(&self, x: &[f64], pool: &Pool) -> Result<Self> {
        let n = rows("queries", x, self.dim)?;
        let Some(model) = &self.model else {
            return Err(Error::invalid(
                "queries",
                "new points need the inducing points (this metric was made from supplied V, p)".into(),
            ));
        };
        check_matrix("queries", x, n, self.dim)?;
        Self::project(x, n, self.dim, self.kernel.clone(), model.clone(), pool)
    }
}
