//! The GP model behind the residual metric: inducing points `Z`, the Cholesky factor
//! `L` of `K_ZZ + jitter·σ²·I`, and from them each point's `v_i = L⁻¹ k_Z(x_i)` and
//! residual variance `p_i` (for the data at construction, for new points as queries).
//!
//! `k_Z(x_i)` comes from the vectorized kernel rows (within `Kernel::ROWS_REL_ERROR` of
//! the exact kernel): `V` is the model's representation, made the same way for data and
//! queries, and distances are canonical in it. The triangular solves run in fixed blocks
//! of rows, so `V` is the same for any number of threads.

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

/// Points per block of [`Residual::project`]: fixed, so that `V` is the same for any
/// number of threads (each block is one triangular solve).
const BLOCK: usize = 256;

/// Cholesky factor (row-major, lower) of the symmetric positive definite row-major
/// `m × m` matrix `a`, through faer.
fn cholesky(a: &[f64], m: usize) -> Result<Vec<f64>> {
    let mat = faer::MatRef::from_row_major_slice(a, m, m);
    let llt = mat.llt(faer::Side::Lower).map_err(|e| {
        Error::invalid(
            "inducing",
            format!("K_ZZ + jitter·I is not positive definite ({e:?}); raise --jitter or remove repeated inducing points"),
        )
    })?;
    let l = llt.L();
    let mut out = vec![0.0; m * m];
    for i in 0..m {
        for j in 0..=i {
            out[i * m + j] = l[(i, j)];
        }
    }
    if out.iter().any(|v| !v.is_finite()) {
        return Err(Error::invalid(
            "inducing",
            "K_ZZ + jitter·I is not positive definite (non-finite factor); raise --jitter".into(),
        ));
    }
    Ok(out)
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
        let chol = faer::MatRef::from_row_major_slice(&model.chol, m, m);
        pool.install(|| {
            v.par_chunks_mut(BLOCK * m).enumerate().for_each(|(b, block)| {
                let rows = block.len() / m;
                // Row i of the block is k_Z(x_i); the block read column-major is the
                // m × rows right-hand side of L·V_blockᵀ = K_Z,block.
                for (r, row) in block.chunks_exact_mut(m).enumerate() {
                    let i = b * BLOCK + r;
                    kernel.eval_rows(&x[i * dim..(i + 1) * dim], &model.z, row);
                }
                let rhs = faer::MatMut::from_column_major_slice_mut(block, m, rows);
                faer::linalg::triangular_solve::solve_lower_triangular_in_place(chol, rhs, faer::Par::Seq);
                crate::kernels::clear_upper_state(); // before the next block's `exp`
            })
        });
        let mut p = vec![0.0; n];
        pool.install(|| {
            p.par_chunks_mut(BLOCK)
                .zip(v.par_chunks(BLOCK * m))
                .for_each(|(p, v)| {
                    for (p, r) in p.iter_mut().zip(v.chunks_exact(m)) {
                        *p = kernel.variance - dot(r, r);
                    }
                })
        });
        Self::assemble(x.to_vec(), dim, v, m, p, kernel, Some(model), Some(pool))
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
