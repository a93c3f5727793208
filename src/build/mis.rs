//! Luby-style maximal independent set with fixed, seeded hash priorities.
//!
//! Each round, an undecided vertex whose priority beats every undecided neighbour
//! joins the set and its neighbours drop out. With fixed priorities the result is
//! the greedy set in priority order, whatever the number of threads.

use pcct_arenas::CsrRef;
use rayon::prelude::*;

/// A vertex's priority: a seeded hash of its point id (ties impossible: the id is
/// part of the key).
pub(crate) fn priority(seed: u64, id: u32) -> (u64, u32) {
    (
        finalise(seed ^ (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        id,
    )
}

/// splitmix64's output function: every input bit reaches every output bit.
pub(crate) fn finalise(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const UNDECIDED: u8 = 0;
const IN: u8 = 1;
const OUT: u8 = 2;

/// The maximal independent set of the graph `adj` (vertex `v`'s neighbours in row
/// `v`) under `prio`, among the vertices with `candidate[v]` (all if `None`; the others
/// start out of the set): `in_set[v]`, and the number of rounds it took. Call inside
/// the pool.
pub(crate) fn luby(
    adj: CsrRef<'_, u32>,
    prio: &[(u64, u32)],
    candidate: Option<&[bool]>,
) -> (Vec<bool>, u32) {
    let n = adj.num_rows();
    let mut state = match candidate {
        Some(c) => c.iter().map(|&c| if c { UNDECIDED } else { OUT }).collect(),
        None => vec![UNDECIDED; n],
    };
    let mut rounds = 0;
    loop {
        let joins: Vec<bool> = (0..n)
            .into_par_iter()
            .with_min_len(1024)
            .map(|v| {
                state[v] == UNDECIDED
                    && adj
                        .row(v)
                        .iter()
                        .all(|&u| state[u as usize] != UNDECIDED || prio[u as usize] < prio[v])
            })
            .collect();
        if !joins.iter().any(|&j| j) {
            break;
        }
        rounds += 1;
        state
            .par_iter_mut()
            .with_min_len(1024)
            .enumerate()
            .for_each(|(v, s)| {
                if joins[v] {
                    *s = IN;
                }
            });
        let outs: Vec<bool> = (0..n)
            .into_par_iter()
            .with_min_len(1024)
            .map(|v| state[v] == UNDECIDED && adj.row(v).iter().any(|&u| state[u as usize] == IN))
            .collect();
        state
            .par_iter_mut()
            .with_min_len(1024)
            .zip(outs)
            .for_each(|(s, o)| {
                if o {
                    *s = OUT;
                }
            });
    }
    (state.into_iter().map(|s| s == IN).collect(), rounds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datagen::Rng;
    use pcct_arenas::Csr;

    fn graph(n: usize, edges: &[(u32, u32)]) -> Csr<u32> {
        let mut rows = vec![Vec::new(); n];
        for &(a, b) in edges {
            rows[a as usize].push(b);
            rows[b as usize].push(a);
        }
        let mut off = vec![0u32];
        let mut vals = Vec::new();
        for r in rows {
            vals.extend(r);
            off.push(vals.len() as u32);
        }
        Csr::new(&off, &vals).unwrap()
    }

    /// The greedy independent set over the candidates, highest priority first.
    fn greedy(g: &Csr<u32>, prio: &[(u64, u32)], candidate: &[bool]) -> Vec<bool> {
        let mut by_prio: Vec<usize> = (0..prio.len()).filter(|&v| candidate[v]).collect();
        by_prio.sort_by_key(|&v| std::cmp::Reverse(prio[v]));
        let mut set = vec![false; prio.len()];
        for v in by_prio {
            if g.row(v).iter().all(|&u| !set[u as usize]) {
                set[v] = true;
            }
        }
        set
    }

    /// The result is independent, maximal, and equals the greedy set in priority order.
    #[test]
    fn luby_equals_greedy_by_priority() {
        let pool = crate::Pool::new(2).unwrap();
        for seed in 0..20u64 {
            let mut rng = Rng::new(seed);
            let n = 1 + rng.below(300) as usize;
            let m = rng.below(4 * n as u64) as usize;
            let edges: Vec<(u32, u32)> = (0..m)
                .map(|_| (rng.below(n as u64) as u32, rng.below(n as u64) as u32))
                .filter(|(a, b)| a != b)
                .collect();
            let g = graph(n, &edges);
            let prio: Vec<_> = (0..n as u32).map(|v| priority(seed, v)).collect();
            let (set, rounds) = pool.install(|| luby(g.view(), &prio, None));
            assert!(rounds >= 1);
            assert_eq!(set, greedy(&g, &prio, &vec![true; n]), "seed {seed}");

            // Among candidates only: the greedy set over the candidates, nobody else.
            let candidate: Vec<bool> = (0..n).map(|v| prio[v].0 % 3 != 0).collect();
            let (set, _) = pool.install(|| luby(g.view(), &prio, Some(&candidate)));
            assert_eq!(set, greedy(&g, &prio, &candidate), "seed {seed}, candidates");
        }
    }
}
