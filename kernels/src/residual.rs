//! Phase 1 of the two-phase residual-correlation kernel (pcct DESIGN.md §5).
//!
//! The residual correlation of points `i`, `j` is
//! `ρ = (k(x_i, x_j) − v_i·v_j) / (√p_i √p_j)` and their distance `√(1 − |ρ|)`; the dot
//! product over `V`'s `m` columns is the expensive part (an `f64` row is `8m` bytes).
//! Phase 1 computes it from a **bf16** copy of `V/σ` (a quarter of the bytes) with `f32`
//! accumulation ([`Bf16Dot`]) and bounds its error rigorously:
//!
//! ```text
//! |v_i·v_j − σ²·s| ≤ c·‖v_i‖·‖v_j‖ + a,   c = 2u_b + u_b² + γ_m·(1 + u_b)²        (B)
//! ```
//!
//! with `u_b = 2⁻⁸` (bf16 rounding of each input), `γ_m = m·u/(1 − m·u)`, `u = 2⁻²⁴` (the
//! `f32` sum of `m` products in any order and with or without fused multiply-add; a
//! product of two bf16 values is exact in `f32`) and `a = σ²·(m + 3)·2⁻¹²⁰` for underflow.
//! The `f64` arithmetic of [`interval`] is not rounded outward: its few roundings are far
//! inside the slack, which is at least `8(m + d + 16)·ε·σ²/p_min`. With (B), `|ρ|`
//! lies in `[(|k − σ²s| − B)/(√p_i√p_j), (|k − σ²s| + B)/(√p_i√p_j)]`, widened by the
//! canonical distance's own rounding slack; [`Phase1::bounds`] turns that into bounds of
//! the canonical distance. Only rows whose lower bound is within the caller's radius get
//! the exact `f64` phase 2.
//!
//! Why not the leading principal columns in `f32` plus a Cauchy–Schwarz bound on the
//! rest: on realistic residual data (`p ≈ 0.1σ²` while `‖v‖² ≈ 0.9σ²`) the left-out
//! energy is of the order of `p` itself, so that bound cannot exclude anything; the
//! bf16 rounding error is a fixed `≈ 0.8 %` of `‖v_i‖‖v_j‖` instead (see pcct's
//! BENCHMARKS.md, section Residual metric).

use crate::isa::{self, Isa, IsaError};

/// bf16 unit roundoff.
const UB: f64 = 1.0 / 256.0;
/// `f32` unit roundoff.
const U32: f64 = f32::EPSILON as f64 / 2.0;

/// `γ_m = m·u/(1 − m·u)`: the relative error of an `f32` sum of `m` terms in any order
/// (infinite when `m·u ≥ 1/2`, where no bound is claimed: phase 1 then rules out nothing).
fn gamma(m: f64) -> f64 {
    let mu = m * U32;
    if mu < 0.5 {
        mu / (1.0 - mu)
    } else {
        f64::INFINITY
    }
}

/// `x` rounded to bf16 (the upper half of its `f32` bits), to nearest, ties to even.
/// NaN stays NaN.
#[inline]
pub fn to_bf16(x: f32) -> u16 {
    let b = x.to_bits();
    if x.is_nan() {
        return ((b >> 16) | 0x40) as u16;
    }
    let round = 0x7fff + ((b >> 16) & 1);
    (b.wrapping_add(round) >> 16) as u16
}

/// The `f32` value of a bf16 (exact).
#[inline(always)]
pub fn from_bf16(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

/// The reference dot product of two bf16 vectors: `f64` accumulation, rounded once
/// (the shorter length is used if they differ).
pub fn bf16_dot_reference(a: &[u16], b: &[u16]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| from_bf16(x) as f64 * from_bf16(y) as f64)
        .sum::<f64>() as f32
}

/// 32 partial sums (two 512-bit or four 256-bit registers once vectorized), combined
/// pairwise; `FUSED` uses `mul_add` (only where the target has FMA).
#[inline(always)]
fn dot_lanes<const FUSED: bool>(a: &[u16], b: &[u16]) -> f32 {
    const W: usize = 32;
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; W];
    let (ca, cb) = (a.chunks_exact(W), b.chunks_exact(W));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for j in 0..W {
            let (p, q) = (from_bf16(x[j]), from_bf16(y[j]));
            acc[j] = if FUSED {
                p.mul_add(q, acc[j])
            } else {
                acc[j] + p * q
            };
        }
    }
    for (j, (&x, &y)) in ra.iter().zip(rb).enumerate() {
        let (p, q) = (from_bf16(x), from_bf16(y));
        acc[j] = if FUSED {
            p.mul_add(q, acc[j])
        } else {
            acc[j] + p * q
        };
    }
    let mut w = W;
    while w > 1 {
        w /= 2;
        for j in 0..w {
            acc[j] += acc[j + w];
        }
    }
    acc[0]
}

fn dot_portable(a: &[u16], b: &[u16]) -> f32 {
    dot_lanes::<false>(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn dot_avx2_body(a: &[u16], b: &[u16]) -> f32 {
    dot_lanes::<true>(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma")]
fn dot_avx512_body(a: &[u16], b: &[u16]) -> f32 {
    dot_lanes::<true>(a, b)
}

#[cfg(target_arch = "x86_64")]
fn dot_avx2(a: &[u16], b: &[u16]) -> f32 {
    // SAFETY: this function is only put into a `Bf16Dot` by `Bf16Dot::new(Isa::Avx2Fma)`,
    // which first checks that the CPU has the level (AVX2 and FMA).
    unsafe { dot_avx2_body(a, b) }
}

#[cfg(target_arch = "x86_64")]
fn dot_avx512(a: &[u16], b: &[u16]) -> f32 {
    // SAFETY: only put into a `Bf16Dot` by `Bf16Dot::new(Isa::Avx512)`, which first
    // checks that the CPU has the level (AVX-512 F/BW/VL with AVX2 and FMA).
    unsafe { dot_avx512_body(a, b) }
}

/// The bf16 dot product of one ISA level (`f32` accumulation), chosen once.
#[derive(Clone, Copy)]
pub struct Bf16Dot {
    isa: Isa,
    f: fn(&[u16], &[u16]) -> f32,
}

impl std::fmt::Debug for Bf16Dot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bf16Dot").field("isa", &self.isa).finish()
    }
}

impl Bf16Dot {
    /// The path of `isa`, or an error if the running CPU lacks it.
    pub fn new(isa: Isa) -> Result<Self, IsaError> {
        if !isa.is_available() {
            return Err(IsaError::Unavailable(isa));
        }
        let f: fn(&[u16], &[u16]) -> f32 = match isa {
            Isa::Scalar => bf16_dot_reference,
            Isa::Portable => dot_portable,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => dot_avx2,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => dot_avx512,
            #[allow(unreachable_patterns)]
            _ => dot_portable,
        };
        Ok(Bf16Dot { isa, f })
    }

    /// The path of the active level (`PCCT_ISA` if set, else the best the CPU has).
    pub fn active() -> Result<Self, IsaError> {
        Self::new(isa::active()?.isa())
    }

    /// The level this path runs on.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// `Σ a_k·b_k` over the shorter length, accumulated in `f32`.
    #[inline]
    pub fn dot(&self, a: &[u16], b: &[u16]) -> f32 {
        (self.f)(a, b)
    }

    /// `out[r] = q · row_r` for rows of `q.len()` values, `stride` apart in `rows`.
    ///
    /// # Panics
    /// If `stride < q.len()` or `rows` holds fewer than `out.len()` rows.
    pub fn dot_block(&self, q: &[u16], rows: &[u16], stride: usize, out: &mut [f32]) {
        let n = q.len();
        assert!(
            stride >= n && (out.is_empty() || rows.len() >= (out.len() - 1) * stride + n),
            "pcct-kernels: bf16 block of {} rows with stride {stride} does not fit {} values",
            out.len(),
            rows.len()
        );
        for (r, o) in out.iter_mut().enumerate() {
            *o = (self.f)(q, &rows[r * stride..r * stride + n]);
        }
    }
}

/// Bounds `(lo, hi)` of the canonical distance `√(1 − min(1, |ρ|))` given an estimate
/// `num` of `|k − v_i·v_j|` within `b` of the truth, `sp = √p_i·√p_j`, and the canonical
/// distance's largest error in `ρ`, `slack`. `sp = 0` (a point at the residual floor)
/// gives `(0, 1)`: nothing is known.
#[inline(always)]
pub fn interval(num: f64, b: f64, sp: f64, slack: f64) -> (f64, f64) {
    // Branch-free (blocks vectorize): an `up` of 1 or more gives lo = 0, a `low` of 0 or
    // less gives hi = 1; sp = 0 makes them ∞ or NaN, and the selects at the end apply.
    let inv = 1.0 / sp;
    let up = (num + b) * inv + slack;
    let low = (num - b) * inv - slack;
    let lo = (1.0 - up).max(0.0).sqrt() * (1.0 - 4.0 * f64::EPSILON);
    let hi = ((1.0 - low.clamp(0.0, 1.0)).sqrt() * (1.0 + 4.0 * f64::EPSILON)).min(1.0);
    let known = sp > 0.0;
    (if known { lo } else { 0.0 }, if known { hi } else { 1.0 })
}

/// The query side of [`tile_intervals`]: its `‖v‖`, `√p`, and the constants of the tile.
#[derive(Clone, Copy, Debug)]
pub struct TileQuery {
    /// The query's row.
    pub row: Row,
    /// `c` in `b = c·‖v_q‖‖v_j‖ + e·k + a`: the dot products' rounding.
    pub dot_error: f64,
    /// `e` in `b`: the relative error of the kernel values.
    pub kernel_error: f64,
    /// Added to `b`: the absolute error of the kernel values.
    pub kernel_abs: f64,
    /// The canonical distance's largest error in `ρ`.
    pub slack: f64,
}

widest! {
    /// One query's row of a tile: `dots[j] = v_q·v_j` (any summation order) and
    /// `kernel[j] = k(x_q, x_j)` (within `kernel_error` relative) become the bounds
    /// [`interval`] gives, `lo` in `dots` and `hi` in `kernel`; through the widest vectors
    /// this CPU has.
    pub fn tile_intervals(q: &TileQuery, rows: &[Row], dots: &mut [f64], kernel: &mut [f64]) => tile_intervals_lanes
}

#[inline(always)]
fn tile_intervals_lanes(q: &TileQuery, rows: &[Row], dots: &mut [f64], kernel: &mut [f64]) {
    let n = rows.len().min(dots.len()).min(kernel.len());
    let (rows, dots, kernel) = (&rows[..n], &mut dots[..n], &mut kernel[..n]);
    for ((r, g), k) in rows.iter().zip(dots.iter_mut()).zip(kernel.iter_mut()) {
        let b = q.dot_error * q.row.norm * r.norm + q.kernel_error * *k + q.kernel_abs;
        (*g, *k) = interval((*k - *g).abs(), b, q.row.sqrt_p * r.sqrt_p, q.slack);
    }
}

/// What phase 1 needs of one point besides its bf16 row.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Row {
    /// `‖v‖` (f64).
    pub norm: f64,
    /// `√p` (0 for a point at the residual floor: phase 1 then knows nothing).
    pub sqrt_p: f64,
}

/// The constants of phase 1 for one metric.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Phase1 {
    /// `c` in (B).
    c: f64,
    /// `a` in (B).
    a: f64,
    /// Largest `|ρ_canonical − ρ_exact|`.
    slack: f64,
    /// `σ²`.
    variance: f64,
}

impl Phase1 {
    /// Constants for rows of `m` columns, variance `σ²`, and the canonical distance's
    /// largest error in `ρ`, `slack`.
    pub fn new(m: usize, variance: f64, slack: f64) -> Self {
        let m = m as f64;
        Phase1 {
            c: 2.0 * UB + UB * UB + gamma(m) * (1.0 + UB) * (1.0 + UB),
            a: variance * (m + 3.0) * 2f64.powi(-120),
            slack,
            variance,
        }
    }

    /// The slack this bound adds in `ρ`.
    pub fn slack(&self) -> f64 {
        self.slack
    }

    /// The same constants with another slack.
    pub fn with_slack(self, slack: f64) -> Self {
        Phase1 { slack, ..self }
    }

    /// The bf16 row of `v`: `v/σ`, each value rounded to bf16.
    pub fn encode(&self, v: &[f64], out: &mut [u16]) {
        let scale = 1.0 / self.variance.sqrt();
        for (o, &x) in out.iter_mut().zip(v) {
            *o = to_bf16((x * scale) as f32);
        }
    }

    /// Bounds `(lo, hi)` of the canonical distance between points `q` and `j`, from the
    /// bf16 dot product `s` of their encoded rows and a bracket `[k_lo, k_hi]` of the
    /// exact kernel value `k(x_q, x_j)` (a point bracket where `k` is computed exactly
    /// as the canonical distance computes it).
    #[inline(always)]
    pub fn bounds(&self, s: f32, k_lo: f64, k_hi: f64, q: Row, j: Row) -> (f64, f64) {
        let b = self.c * q.norm * j.norm + self.a + 0.5 * (k_hi - k_lo);
        let mid = 0.5 * (k_lo + k_hi) - self.variance * s as f64;
        interval(mid.abs(), b, q.sqrt_p * j.sqrt_p, self.slack)
    }

    /// [`Phase1::bounds`] for a block: `s[r]`, `k_lo[r]`, `k_hi[r]`, `rows[r]` → `lo[r]`, `hi[r]`.
    ///
    /// # Panics
    /// If the slices differ in length.
    #[allow(clippy::too_many_arguments)]
    pub fn bounds_block(
        &self,
        s: &[f32],
        k_lo: &[f64],
        k_hi: &[f64],
        q: Row,
        rows: &[Row],
        lo: &mut [f64],
        hi: &mut [f64],
    ) {
        let n = s.len();
        assert!(
            k_lo.len() == n && k_hi.len() == n && rows.len() == n && lo.len() == n && hi.len() == n,
            "pcct-kernels: phase-1 block slices differ in length"
        );
        for r in 0..n {
            (lo[r], hi[r]) = self.bounds(s[r], k_lo[r], k_hi[r], q, rows[r]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64 in [−0.5, 0.5).
    fn rng(seed: &mut u64) -> f64 {
        *seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }

    #[test]
    fn bf16_rounds_to_nearest_even() {
        assert_eq!(from_bf16(to_bf16(1.0)), 1.0);
        assert_eq!(from_bf16(to_bf16(-2.5)), -2.5);
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1).
        assert_eq!(from_bf16(to_bf16(1.0 + 1.0 / 256.0)), 1.0);
        assert_eq!(from_bf16(to_bf16(1.0 + 3.0 / 256.0)), 1.0 + 4.0 / 256.0);
        assert!(from_bf16(to_bf16(f32::NAN)).is_nan());
        assert_eq!(from_bf16(to_bf16(f32::INFINITY)), f32::INFINITY);
        let mut seed = 1;
        for _ in 0..10_000 {
            let x = (rng(&mut seed) * 1e3) as f32;
            let r = from_bf16(to_bf16(x));
            assert!((r - x).abs() as f64 <= UB * x.abs() as f64, "{x} → {r}");
        }
    }

    /// Every level this CPU has, every length 0..=300, random and large-magnitude
    /// values: within the f32 summation bound of the reference.
    #[test]
    fn every_level_matches_the_reference() {
        let mut seed = 11;
        for &isa in isa::available() {
            let k = Bf16Dot::new(isa).unwrap();
            for n in 0..=300 {
                let scale = if n % 7 == 0 { 3e4 } else { 1.0 };
                let a: Vec<u16> = (0..n).map(|_| to_bf16((rng(&mut seed) * scale) as f32)).collect();
                let b: Vec<u16> = (0..n).map(|_| to_bf16((rng(&mut seed) * scale) as f32)).collect();
                let abs: f64 = a
                    .iter()
                    .zip(&b)
                    .map(|(&x, &y)| (from_bf16(x) * from_bf16(y)).abs() as f64)
                    .sum();
                let (got, want) = (k.dot(&a, &b) as f64, bf16_dot_reference(&a, &b) as f64);
                let tol = 1.03 * (n as f64 + 2.0) * U32 * abs;
                assert!((got - want).abs() <= tol, "{isa:?} n = {n}: {got} vs {want}");
                let mut out = [0f32; 3];
                let rows: Vec<u16> = a.iter().chain(&b).chain(&a).copied().collect();
                k.dot_block(&b, &rows, n, &mut out);
                assert_eq!(out[1], k.dot(&b, &b), "{isa:?} n = {n}: block row 1");
            }
        }
    }

    /// Random rows (several magnitudes, several m): the bounds contain the distance
    /// computed from the f64 dot product, through every level, and are sharp (width
    /// well under 0.1 in distance for p ≈ 0.1σ²-like inputs is not required here, only
    /// containment and a finite width when p is comfortable).
    #[test]
    fn bounds_contain_the_exact_distance() {
        let mut seed = 7;
        for &isa in isa::available() {
            let k32 = Bf16Dot::new(isa).unwrap();
            for case in 0..3000 {
                let m = 1 + case % 97;
                let scale = [1.0, 1e-3, 1e3, 0.37][case % 4];
                let variance = scale * scale * 4.0;
                let ph = Phase1::new(m, variance, 1e-12);
                let mut pt = || -> (Vec<f64>, Row, Vec<u16>) {
                    let v: Vec<f64> = (0..m)
                        .map(|_| rng(&mut seed) * scale * 3.0 / (m as f64).sqrt())
                        .collect();
                    let nv: f64 = v.iter().map(|x| x * x).sum();
                    let mut enc = vec![0u16; m];
                    ph.encode(&v, &mut enc);
                    let p = variance - nv;
                    assert!(p > 0.0);
                    (
                        v,
                        Row {
                            norm: nv.sqrt(),
                            sqrt_p: p.sqrt(),
                        },
                        enc,
                    )
                };
                let (vq, rq, hq) = pt();
                let (vj, rj, hj) = pt();
                let k = variance * (0.5 + rng(&mut seed));
                let s = k32.dot(&hq, &hj);
                let dot: f64 = vq.iter().zip(&vj).map(|(a, b)| a * b).sum();
                let rho = ((k - dot) / (rq.sqrt_p * rj.sqrt_p)).clamp(-1.0, 1.0);
                let d = (1.0 - rho.abs()).sqrt();
                let (lo, hi) = ph.bounds(s, k, k, rq, rj);
                let (wlo, whi) = ph.bounds(s, k * 0.99, k * 1.01 + 1e-3 * variance, rq, rj);
                assert!(
                    wlo <= lo && hi <= whi,
                    "{isa:?} case {case}: a wider bracket must widen the bounds"
                );
                assert!(
                    lo <= d && d <= hi,
                    "{isa:?} case {case}: {lo} ≤ {d} ≤ {hi} fails (m = {m})"
                );
                assert!(hi - lo < 0.5, "{isa:?} case {case}: [{lo}, {hi}] says nothing");
            }
        }
    }

    #[test]
    fn floor_points_get_no_information() {
        let ph = Phase1::new(8, 1.0, 1e-12);
        let q = Row {
            norm: 0.9,
            sqrt_p: 0.0,
        };
        assert_eq!(ph.bounds(0.3, 0.5, 0.5, q, q), (0.0, 1.0));
    }

    #[test]
    fn block_equals_rows() {
        let ph = Phase1::new(16, 2.0, 1e-10);
        let mut seed = 3;
        let rows: Vec<Row> = (0..37)
            .map(|_| Row {
                norm: 0.5 + rng(&mut seed).abs(),
                sqrt_p: 0.2 + rng(&mut seed).abs(),
            })
            .collect();
        let s: Vec<f32> = (0..37).map(|_| rng(&mut seed) as f32).collect();
        let k: Vec<f64> = (0..37).map(|_| rng(&mut seed)).collect();
        let k2: Vec<f64> = k.iter().map(|x| x + 0.01).collect();
        let (mut lo, mut hi) = (vec![0.0; 37], vec![0.0; 37]);
        ph.bounds_block(&s, &k, &k2, rows[0], &rows, &mut lo, &mut hi);
        for r in 0..37 {
            assert_eq!((lo[r], hi[r]), ph.bounds(s[r], k[r], k2[r], rows[0], rows[r]));
        }
    }
}
