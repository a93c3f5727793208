//! The residual metric's options and model, shared by `pcct knn` and `pcct vecchia`.

use super::input::{note, read_input};
use clap::Args;
use pcct::io::{CsvHeader, Matrix};
use pcct::metric::{Kernel, KernelKind, Residual};
use pcct::{Error, Pool, Result};
use std::path::PathBuf;

/// The residual model's options (`--metric residual`).
#[derive(Args, Debug, Clone, PartialEq)]
pub struct ModelArgs {
    /// Residual metric: inducing points Z (.npy or .csv, same dimension as the data).
    #[arg(long, value_name = "Z")]
    pub inducing: Option<PathBuf>,
    /// Residual metric: kernel rbf, matern12, matern32 or matern52.
    #[arg(long, default_value = "rbf")]
    pub kernel: String,
    /// Residual metric: lengthscale, one value or one per dimension (comma-separated).
    #[arg(long, default_value = "1", value_delimiter = ',')]
    pub lengthscale: Vec<f64>,
    /// Residual metric: kernel variance.
    #[arg(long, default_value_t = 1.0)]
    pub variance: f64,
    /// Residual metric: jitter added to K_ZZ, relative to the variance.
    #[arg(long, default_value_t = 1e-6)]
    pub jitter: f64,
}

impl ModelArgs {
    /// The options set away from their defaults, by flag (for commands that refuse them).
    pub fn given(&self, defaults: &ModelArgs) -> Vec<(&'static str, bool)> {
        vec![
            ("--inducing", self.inducing.is_some()),
            ("--kernel", self.kernel != defaults.kernel),
            ("--lengthscale", self.lengthscale != defaults.lengthscale),
            ("--variance", self.variance != defaults.variance),
            ("--jitter", self.jitter != defaults.jitter),
        ]
    }

    /// The residual metric of `data` (`V`, `p` from the inducing points, on `pool`); a
    /// note when the residual variance is mostly rounding.
    pub fn metric(&self, data: &Matrix, header: CsvHeader, pool: &Pool) -> Result<Residual> {
        let Some(zpath) = &self.inducing else {
            return Err(Error::invalid(
                "inducing",
                "--metric residual needs --inducing Z".into(),
            ));
        };
        let kernel = Kernel::new(
            self.kernel.parse::<KernelKind>()?,
            self.variance,
            &self.lengthscale,
        )?;
        let z = read_input(zpath, header)?;
        let dim = data.shape().1;
        if z.shape().1 != dim {
            return Err(Error::invalid(
                "inducing",
                format!(
                    "inducing points have dimension {} but the data has {dim}",
                    z.shape().1
                ),
            ));
        }
        let m = Residual::from_inducing(&data.to_f64(), dim, &z.to_f64(), kernel, self.jitter, pool)?;
        let relative = m.median_relative_variance();
        if relative <= 100.0 * self.jitter {
            note(format!(
                "residual model: the median p/σ² is {relative:.1e}, within 100× the jitter {:e}: the \
                 residual variance is mostly rounding and the neighbours are close to noise (fewer \
                 inducing points, or inducing points apart from the data)",
                self.jitter
            ));
        }
        Ok(m)
    }
}
