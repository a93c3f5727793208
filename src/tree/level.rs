//! Exact level arithmetic: `⌈log2 d⌉` and `2^l` without floating-point `log2`.

/// `⌈log2 d⌉` for a finite `d > 0`, exactly (a power of two gives its exponent).
pub fn ceil_log2(d: f64) -> i32 {
    debug_assert!(d > 0.0 && d.is_finite());
    let (mut x, mut shift) = (d, 0);
    if x < f64::MIN_POSITIVE {
        x *= 2f64.powi(64); // subnormal: scale into the normal range
        shift = 64;
    }
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32 - 1023;
    let mantissa = bits & ((1u64 << 52) - 1);
    exp + i32::from(mantissa != 0) - shift
}

/// `2^l` as `f64` (saturating to 0 or infinity outside the representable range).
pub fn pow2(l: i32) -> f64 {
    if l > 1023 {
        f64::INFINITY
    } else if l >= -1022 {
        f64::from_bits(((l + 1023) as u64) << 52)
    } else if l >= -1074 {
        f64::from_bits(1u64 << (l + 1074))
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceil_log2_is_exact_at_powers_of_two_and_between() {
        for l in -1074..=1023 {
            let p = pow2(l);
            assert_eq!(ceil_log2(p), l, "2^{l}");
            if l < 1023 && l > -1022 {
                assert_eq!(ceil_log2(p * 1.000_001), l + 1, "just above 2^{l}");
            } else if l > -1074 && l < 1023 {
                assert_eq!(
                    ceil_log2(p + pow2(-1074)),
                    l + 1,
                    "one subnormal step above 2^{l}"
                );
            }
        }
        assert_eq!(ceil_log2(3.0), 2);
        assert_eq!(ceil_log2(0.3), -1);
        assert_eq!(pow2(-2000), 0.0);
        assert_eq!(pow2(2000), f64::INFINITY);
    }
}
