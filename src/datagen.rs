//! Seeded data generators for tests and benchmarks.
//!
//! Every generator is a pure function of its arguments and seed; values are `f64`
//! row-major `n × dim` (convert with `as f32` for f32 workloads).

/// SplitMix64: a small, fast, seeded generator (not for cryptography).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x6A09_E667_F3BC_C909)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u = 1.0 - self.uniform();
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// `n` points uniform in `[0, 1)^dim`.
pub fn uniform(n: usize, dim: usize, seed: u64) -> Vec<f64> {
    let mut r = Rng::new(seed);
    (0..n * dim).map(|_| r.uniform()).collect()
}

/// `n` points around `clusters` centres uniform in `[0, 1)^dim`, Gaussian with
/// standard deviation `sigma` per coordinate; point `i` belongs to a random centre.
pub fn clusters(n: usize, dim: usize, clusters: usize, sigma: f64, seed: u64) -> Vec<f64> {
    let mut r = Rng::new(seed);
    let centres: Vec<f64> = (0..clusters.max(1) * dim).map(|_| r.uniform()).collect();
    let mut out = Vec::with_capacity(n * dim);
    for _ in 0..n {
        let c = r.below(clusters.max(1) as u64) as usize;
        for j in 0..dim {
            out.push(centres[c * dim + j] + sigma * r.normal());
        }
    }
    out
}

/// `n` uniform points of which a fraction `dup_fraction` are exact copies of
/// earlier points (so duplicates come in groups of two or more).
pub fn with_duplicates(n: usize, dim: usize, dup_fraction: f64, seed: u64) -> Vec<f64> {
    let mut r = Rng::new(seed);
    let mut out: Vec<f64> = Vec::with_capacity(n * dim);
    for i in 0..n {
        if i > 0 && r.uniform() < dup_fraction {
            let src = r.below(i as u64) as usize;
            for j in 0..dim {
                out.push(out[src * dim + j]);
            }
        } else {
            for _ in 0..dim {
                out.push(r.uniform());
            }
        }
    }
    out
}

/// `n` points with integer coordinates in `0..side` (many exact distance ties, and
/// exact duplicates once `n` nears `side^dim`), in random order.
pub fn grid(n: usize, dim: usize, side: u64, seed: u64) -> Vec<f64> {
    let mut r = Rng::new(seed);
    (0..n * dim).map(|_| r.below(side) as f64).collect()
}

/// `n` points on a random line through `[0, 1)^dim`: `a + t·u`, `t` uniform in `[0, 1)`.
pub fn line(n: usize, dim: usize, seed: u64) -> Vec<f64> {
    let mut r = Rng::new(seed);
    let a: Vec<f64> = (0..dim).map(|_| r.uniform()).collect();
    let u: Vec<f64> = (0..dim).map(|_| r.normal()).collect();
    let mut out = Vec::with_capacity(n * dim);
    for _ in 0..n {
        let t = r.uniform();
        out.extend(a.iter().zip(&u).map(|(a, u)| a + t * u));
    }
    out
}

/// `values` multiplied by `factor` (e.g. 1e-9 or 1e9 for extreme scales).
pub fn scaled(mut values: Vec<f64>, factor: f64) -> Vec<f64> {
    values.iter_mut().for_each(|v| *v *= factor);
    values
}
