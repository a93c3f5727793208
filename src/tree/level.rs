//! Level arithmetic. A node at level `l` covers its children within `scale(l + 1)`
//! and nodes of level ≥ `l` are more than `scale(l)` apart, where `scale(l) = BASE^l`.
//!
//! `scale` is a table, strictly increasing by construction, and [`level_of`] is
//! *defined* through it (the smallest `l` with `d ≤ scale(l)`), so the builder and
//! `validate` can never disagree by a rounding. With `BASE = 2` the table holds the
//! exact powers of two and `level_of = ⌈log2⌉`.

/// The level base. DESIGN.md §2 uses 2; base 1.6 gives a deeper tree with fewer
/// children per node and tighter radii, so a query evaluates fewer distances, while
/// smaller bases add more levels to descend than they save. Chosen by measurement; see
/// BENCHMARKS.md, section Build.
pub const BASE: f64 = 1.6;

const L_MIN: i32 = -3000;
const L_MAX: i32 = 3000;

#[inline]
fn table() -> &'static [f64] {
    static TABLE: std::sync::OnceLock<Vec<f64>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t: Vec<f64> = (L_MIN..=L_MAX).map(|l| BASE.powi(l)).collect();
        // Strictly increasing wherever positive and finite, whatever powi's rounding.
        for i in 1..t.len() {
            if t[i - 1] > 0.0 && t[i].is_finite() && t[i] <= t[i - 1] {
                t[i] = t[i - 1].next_up();
            }
        }
        t
    })
}

/// `BASE^l` from the table (0 below its range, +∞ above).
#[inline]
pub fn scale(l: i32) -> f64 {
    if l < L_MIN {
        0.0
    } else if l > L_MAX {
        f64::INFINITY
    } else {
        table()[(l - L_MIN) as usize]
    }
}

/// The smallest level `l` with `d ≤ scale(l)`, for a finite `d > 0`.
pub fn level_of(d: f64) -> i32 {
    debug_assert!(d > 0.0 && d.is_finite());
    let mut l = ((d.ln() / BASE.ln()).ceil() as i32).clamp(L_MIN, L_MAX);
    while l > L_MIN && scale(l - 1) >= d {
        l -= 1;
    }
    while l < L_MAX && scale(l) < d {
        l += 1;
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_of_is_the_smallest_covering_level() {
        let mut x: f64 = 1e-300;
        while x < 1e300 {
            for d in [
                x,
                x.next_up(),
                x.next_down(),
                scale(level_of(x)),
                scale(level_of(x)).next_up(),
            ] {
                let l = level_of(d);
                assert!(d <= scale(l) && scale(l - 1) < d, "d = {d:e}, level {l}");
            }
            x *= 1.7;
        }
        for l in L_MIN..L_MAX {
            if scale(l) > 0.0 && scale(l + 1).is_finite() {
                assert!(scale(l) < scale(l + 1), "level {l}");
                assert_eq!(level_of(scale(l)), l);
            }
        }
        assert_eq!(scale(L_MIN - 1), 0.0);
        assert_eq!(scale(L_MAX + 1), f64::INFINITY);
    }
}
