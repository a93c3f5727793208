//! The machine's floating-point peak, measured: independent chains of fused
//! multiply-adds at the widest vectors the CPU has. The yardstick the dense engine's
//! matrix products are held to (BENCHMARKS.md, section Dense engine).

/// Accumulators of [`fma_f64`]: 64 independent chains, enough to cover the latency of
/// two FMA units (8 registers of 8 lanes with AVX-512, 16 of 4 with AVX2).
pub const CHAINS: usize = 64;

widest! {
    /// `rounds` times, every accumulator `a ← a·m + c` as one fused multiply-add: `2 · 64
    /// · rounds` floating-point operations with no memory traffic.
    pub fn fma_f64(acc: &mut [f64; CHAINS], m: f64, c: f64, rounds: usize) => fma_lanes
}

#[inline(always)]
fn fma_lanes(acc: &mut [f64; CHAINS], m: f64, c: f64, rounds: usize) {
    for _ in 0..rounds {
        for a in acc.iter_mut() {
            *a = a.mul_add(m, c);
        }
    }
}

/// Floating-point operations per second of one thread running [`fma_f64`] for about
/// `seconds` (the best of a few repeats).
pub fn f64_fma_rate(seconds: f64) -> f64 {
    let mut acc = [1.0f64; CHAINS];
    let rounds = 1 << 16;
    let mut best: f64 = 0.0;
    let start = std::time::Instant::now();
    while start.elapsed().as_secs_f64() < seconds {
        let t = std::time::Instant::now();
        fma_f64(&mut acc, 0.999_999_9, 1e-7, rounds);
        let s = t.elapsed().as_secs_f64();
        best = best.max(2.0 * CHAINS as f64 * rounds as f64 / s);
    }
    assert!(acc.iter().all(|a| a.is_finite()), "the chains stay finite");
    best
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_chains_compute_their_recurrence() {
        let mut acc = [1.0f64; super::CHAINS];
        super::fma_f64(&mut acc, 0.5, 1.0, 10);
        // a ← a/2 + 1 from 1, ten times: 2 − 2^−10.
        assert!(acc.iter().all(|&a| a == 2.0 - 2f64.powi(-10)));
        assert!(super::f64_fma_rate(0.01) > 1e8);
    }
}
