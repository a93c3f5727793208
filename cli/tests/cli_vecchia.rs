//! `pcct vecchia` end to end: the ordering is the library's maximin, the conditioning
//! sets are the naive predecessor k-NN of the reordered points, and bad input is one line,
//! exit status 2, nothing written.

#[path = "../../tests/common/mod.rs"]
mod common;

use common::*;
use pcct::datagen;
use pcct::ordering::maximin;
use std::path::{Path, PathBuf};
use std::process::Command;

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pcct-cli-vecchia-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn write_csv(path: &Path, values: &[f64], dim: usize) {
    let s: String = values
        .chunks(dim)
        .map(|r| r.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join(",") + "\n")
        .collect();
    std::fs::write(path, s).unwrap();
}

fn read_csv(path: &Path) -> Vec<Vec<f64>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split(',').map(|v| v.parse::<f64>().unwrap()).collect())
        .collect()
}

fn pcct(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pcct"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn vecchia_orders_then_conditions_exactly() {
    let (n, dim, k) = (300, 2, 5);
    for (name, values) in [
        ("uniform", datagen::uniform(n, dim, 3)),
        ("grid", datagen::grid(n, dim, 12, 4)),
        ("dups", datagen::with_duplicates(n, dim, 0.5, 5)),
    ] {
        let data = tmp(&format!("{name}.csv"));
        write_csv(&data, &values, dim);
        let (o, i, d, r) = (tmp("o.csv"), tmp("i.csv"), tmp("d.csv"), tmp("r.csv"));
        let out = pcct(&[
            "vecchia",
            "--data",
            data.to_str().unwrap(),
            "--k",
            "5",
            "--quiet",
            "--out-order",
            o.to_str().unwrap(),
            "--out-ids",
            i.to_str().unwrap(),
            "--out-dists",
            d.to_str().unwrap(),
            "--out-radii",
            r.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let m = euclidean::<f64>(&values, n, dim);
        let mm = maximin(&m, &pool(2)).unwrap();
        let order: Vec<u32> = read_csv(&o).iter().map(|r| r[0] as u32).collect();
        assert_eq!(order, mm.order, "{name}");
        let radii: Vec<f64> = read_csv(&r).iter().map(|r| r[0]).collect();
        assert_eq!(radii, mm.radius, "{name}");
        // Row r: the k nearest of positions 0..r in the new order.
        let row = |p: usize| &values[order[p] as usize * dim..(order[p] as usize + 1) * dim];
        let (ids, dists) = (read_csv(&i), read_csv(&d));
        for p in 0..n {
            let mut cand: Vec<(f64, usize)> = (0..p).map(|q| (dist(row(p), row(q)), q)).collect();
            cand.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            for j in 0..k {
                let (want_id, want_d) = cand
                    .get(j)
                    .map_or((-1.0, f64::INFINITY), |&(dd, q)| (q as f64, dd));
                assert_eq!((ids[p][j], dists[p][j]), (want_id, want_d), "{name} row {p}");
            }
        }
    }
}

#[test]
fn vecchia_refuses_bad_input_in_one_line() {
    let data = tmp("bad.csv");
    write_csv(&data, &datagen::uniform(20, 2, 1), 2);
    let (o, i) = (tmp("bo.csv"), tmp("bi.csv"));
    let base = [
        "vecchia",
        "--data",
        data.to_str().unwrap(),
        "--out-order",
        o.to_str().unwrap(),
        "--out-ids",
        i.to_str().unwrap(),
    ];
    for (extra, message) in [
        (vec!["--k", "0"], "k must be at least 1"),
        (vec!["--k", "3", "--metric", "residual"], "needs --inducing"),
        (
            vec!["--k", "3", "--order", "natural", "--out-radii", "r.csv"],
            "radii come with --order maximin",
        ),
        (
            vec!["--k", "3", "--inducing", "z.csv"],
            "--inducing needs --metric residual",
        ),
    ] {
        let _ = std::fs::remove_file(&o);
        let args: Vec<&str> = base.iter().copied().chain(extra.iter().copied()).collect();
        let out = pcct(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
        assert!(
            err.contains(message) && err.lines().count() == 1,
            "{extra:?}: {err}"
        );
        assert!(!o.exists());
    }
}
