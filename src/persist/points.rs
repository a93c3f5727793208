//! How each metric stores its points in a tree file: the payload's first part, before
//! the tree's arrays.

use super::{corrupt, MetricTag, Persist, Reader, Writer};
use crate::kernels::Element;
use crate::metric::{Dataset, Euclidean, Kernel, KernelKind, Model, Residual};
use crate::{Error, Result};
use std::sync::Arc;

impl<T: Element> Persist for Euclidean<T> {
    const TAG: MetricTag = if T::BYTES == 4 {
        MetricTag::EuclideanF32
    } else {
        MetricTag::EuclideanF64
    };

    fn write_points(&self, w: &mut Writer) {
        let d = self.dataset();
        w.u64(d.dim() as u64);
        let rows = (0..d.len()).flat_map(|i| d.row(i).iter().map(|v| v.to_f64()));
        if T::BYTES == 4 {
            let v: Vec<f32> = rows.map(|x| x as f32).collect();
            w.f32s(v.into_iter());
        } else {
            w.f64s(&rows.collect::<Vec<f64>>());
        }
    }

    fn read_points(r: &mut Reader<'_>) -> Result<Self> {
        let dim = r.u64("dimension")? as usize;
        let values: Vec<T> = if T::BYTES == 4 {
            r.f32s("points")?
                .into_iter()
                .map(|x| T::from_f64(x as f64))
                .collect()
        } else {
            r.f64s("points")?.into_iter().map(T::from_f64).collect()
        };
        if dim == 0 || !values.len().is_multiple_of(dim) {
            return Err(corrupt(format!(
                "{} point values do not form rows of dimension {dim}",
                values.len()
            )));
        }
        Euclidean::new(Dataset::from_rows(&values, values.len() / dim, dim)?)
    }
}

impl Persist for Residual {
    const TAG: MetricTag = MetricTag::Residual;

    fn write_points(&self, w: &mut Writer) {
        w.u64(self.dim as u64);
        w.u64(self.m as u64);
        w.f64s(&self.x);
        w.f64s(&self.v);
        w.f64s(&self.p);
        w.u64(match self.kernel.kind {
            KernelKind::Rbf => 0,
            KernelKind::Matern12 => 1,
            KernelKind::Matern32 => 2,
            KernelKind::Matern52 => 3,
        });
        w.f64s(&[self.kernel.variance, self.abs_error]);
        w.f64s(&self.kernel.inv_lengthscales);
        match &self.model {
            Some(md) => {
                w.u64(md.m as u64);
                w.f64s(&md.z);
                w.f64s(&md.chol);
            }
            None => w.u64(u64::MAX),
        }
    }

    fn read_points(r: &mut Reader<'_>) -> Result<Self> {
        let bad = |what: &str| Error::invalid("tree file", format!("residual points: {what}"));
        let dim = r.u64("dimension")? as usize;
        let m = r.u64("rank")? as usize;
        let (x, v, p) = (r.f64s("coordinates")?, r.f64s("V")?, r.f64s("p")?);
        let n = p.len();
        if dim == 0 || m == 0 || Some(x.len()) != n.checked_mul(dim) || Some(v.len()) != n.checked_mul(m) {
            return Err(bad("array lengths disagree"));
        }
        if x.iter().chain(&v).chain(&p).any(|q| !q.is_finite()) || p.iter().any(|&q| q < 0.0) {
            return Err(bad("non-finite coordinates, V or p, or a negative p"));
        }
        let kind = match r.u64("kernel")? {
            0 => KernelKind::Rbf,
            1 => KernelKind::Matern12,
            2 => KernelKind::Matern32,
            3 => KernelKind::Matern52,
            k => return Err(bad(&format!("unknown kernel code {k}"))),
        };
        let (scalars, inv) = (r.f64s("variance")?, r.f64s("lengthscales")?);
        let [variance, abs_error] = scalars[..] else {
            return Err(bad("variance and error bound missing"));
        };
        let positive = |q: &f64| q.is_finite() && *q > 0.0;
        let in_range = positive(&variance)
            && abs_error.is_finite()
            && abs_error >= 0.0
            && !inv.is_empty()
            && inv.iter().all(positive);
        if !in_range {
            return Err(bad("variance, lengthscales or error bound out of range"));
        }
        let kernel = Kernel {
            kind,
            variance,
            inv_lengthscales: inv,
        };
        kernel.check_dim(dim).map_err(|e| bad(&e.to_string()))?;
        let model = match r.u64("model")? {
            u64::MAX => None,
            mm => {
                let (z, chol) = (r.f64s("inducing points")?, r.f64s("Cholesky factor")?);
                let mm = mm as usize;
                if mm != m || Some(z.len()) != mm.checked_mul(dim) || Some(chol.len()) != mm.checked_mul(mm) {
                    return Err(bad("model array lengths disagree"));
                }
                if z.iter().chain(&chol).any(|q| !q.is_finite()) || (0..mm).any(|i| chol[i * mm + i] <= 0.0) {
                    return Err(bad("non-finite model or a non-positive Cholesky pivot"));
                }
                Some(Arc::new(Model { z, m: mm, chol }))
            }
        };
        let metric = Residual::assemble(x, dim, v, m, p, Arc::new(kernel), model, None)?;
        // The bound the tree was built with (it may cover points deleted since).
        Ok(metric.with_abs_error(abs_error))
    }
}
