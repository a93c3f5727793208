//! `pcct knn` end to end: answers equal the library's brute force, formats, padding,
//! telemetry, and every bad input is exit status 2 with one line and no output file.

#[path = "../../tests/common/mod.rs"]
mod common;

use common::*;
use pcct::query::{brute_force_knn, brute_force_predecessor_knn, brute_force_self_knn};
use pcct::{datagen, Neighbors};
use std::path::{Path, PathBuf};
use std::process::Command;

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pcct-cli-knn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn write_csv(path: &Path, values: &[f64], dim: usize, header: bool) {
    let mut s = String::new();
    if header {
        s.push_str(&(0..dim).map(|j| format!("x{j}")).collect::<Vec<_>>().join(","));
        s.push('\n');
    }
    for r in values.chunks(dim) {
        s.push_str(&r.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join(","));
        s.push('\n');
    }
    std::fs::write(path, s).unwrap();
}

/// A float32 .npy file, C order.
fn write_npy_f32(path: &Path, values: &[f32], n: usize, dim: usize) {
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({n}, {dim}), }}\n");
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    values
        .iter()
        .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    std::fs::write(path, out).unwrap();
}

fn read_npy_body<const W: usize>(path: &Path) -> Vec<[u8; W]> {
    let b = std::fs::read(path).unwrap();
    let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
    b[10 + hlen..]
        .chunks_exact(W)
        .map(|c| c.try_into().unwrap())
        .collect()
}

fn pcct(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pcct"))
        .args(args)
        .output()
        .unwrap()
}

fn check_ids_csv(path: &Path, expect: &Neighbors) {
    let text = std::fs::read_to_string(path).unwrap();
    let got: Vec<i64> = text
        .lines()
        .flat_map(|l| l.split(',').map(|v| v.parse::<i64>().unwrap()))
        .collect();
    let want: Vec<i64> = expect
        .ids()
        .iter()
        .map(|&i| if i == u32::MAX { -1 } else { i as i64 })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn knn_self_and_predecessor_match_brute_force() {
    let (n, dim) = (400, 3);
    let values = datagen::with_duplicates(n, dim, 0.3, 11);
    let qvalues = datagen::uniform(50, dim, 12);
    let (data, queries) = (tmp("data.csv"), tmp("queries.csv"));
    write_csv(&data, &values, dim, true);
    write_csv(&queries, &qvalues, dim, false);
    let m = euclidean::<f64>(&values, n, dim);
    let q = euclidean::<f64>(&qvalues, 50, dim);
    let p = pool(2);
    let (ids, dists, stats) = (tmp("ids.csv"), tmp("dists.npy"), tmp("stats.jsonl"));
    let s = |p: &Path| p.to_str().unwrap().to_string();

    // `pcct knn` for the 50 queries, k = 7, ids and stats out, and `extra` options.
    let knn = |extra: &[&str]| {
        let mut a: Vec<String> = ["knn", "--data", &s(&data), "--k", "7", "--queries", &s(&queries)]
            .iter()
            .map(|x| x.to_string())
            .collect();
        a.extend(["--out-ids".to_string(), s(&ids), "--stats".into(), s(&stats)]);
        a.extend(extra.iter().map(|x| x.to_string()));
        pcct(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let out = knn(&["--out-dists", &s(&dists), "--threads", "2"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let expect = brute_force_knn(&m, &q, 7, &p).unwrap();
    check_ids_csv(&ids, &expect);
    let d: Vec<f64> = read_npy_body::<8>(&dists)
        .into_iter()
        .map(f64::from_le_bytes)
        .collect();
    assert_eq!(d, expect.dists());
    let text = std::fs::read_to_string(&stats).unwrap();
    let summary = text
        .lines()
        .find(|l| l.contains("\"record\":\"summary\""))
        .expect("summary record");
    for key in ["\"build_s\":", "\"query_s\":", "\"distance_evals\":", "\"path\":"] {
        assert!(summary.contains(key), "{key} missing in {summary}");
    }
    // 50 queries do not repay a tree over 400 points: the plan says so and scans.
    assert!(text.contains("\"record\":\"plan\""), "{text}");
    assert!(text.contains("\"engine\":\"dense\""), "{text}");
    assert!(summary.contains("\"path\":\"dense\""), "{summary}");

    // The tree, forced: same answers, one record per build batch.
    let out = knn(&["--engine", "tree"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    check_ids_csv(&ids, &expect);
    let text = std::fs::read_to_string(&stats).unwrap();
    let batches = text
        .lines()
        .filter(|l| l.contains("\"record\":\"batch\""))
        .count();
    assert!(batches >= 5, "one record per build batch: {text}");
    assert!(text.contains("\"builder\":\"pcct\""), "{text}");
    assert!(text.contains("\"forced\":\"true\""), "{text}");

    // The k-d engine, forced: same answers, said in the stats; it cannot save a tree.
    let out = knn(&["--engine", "kd"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    check_ids_csv(&ids, &expect);
    let text = std::fs::read_to_string(&stats).unwrap();
    assert!(text.contains("\"path\":\"kd\""), "{text}");
    let saved = tmp("kd.pcct");
    let out = knn(&["--engine", "kd", "--save-tree", &s(&saved)]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--save-tree needs a cover tree, and --engine kd answers without one"),
        "{err}"
    );

    // Every forced query path gives the same answers, and says so in the stats.
    for via in ["tree", "scan", "kd"] {
        let out = knn(&["--via", via]);
        assert!(
            out.status.success(),
            "{via}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        check_ids_csv(&ids, &expect);
        let text = std::fs::read_to_string(&stats).unwrap();
        assert!(text.contains(&format!("\"path\":\"{via}\"")), "{via}: {text}");
        // --via needs a cover tree, which the plan would not build here: a note says so.
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("the options given need a cover tree; without them the plan would answer with the dense engine"),
            "{via}: {err}"
        );
    }

    // The sequential reference builder gives the same answers.
    let out = pcct(&[
        "knn",
        "--data",
        &s(&data),
        "--k",
        "7",
        "--queries",
        &s(&queries),
        "--out-ids",
        &s(&ids),
        "--builder",
        "sequential",
        "--order",
        "random",
        "--seed",
        "9",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    check_ids_csv(&ids, &brute_force_knn(&m, &q, 7, &p).unwrap());

    let out = pcct(&[
        "knn",
        "--data",
        &s(&data),
        "--k",
        "5",
        "--self",
        "--out-ids",
        &s(&ids),
        "--grid",
        "--stats",
        &s(&stats),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    check_ids_csv(&ids, &brute_force_self_knn(&m, 5, &p).unwrap());
    // Grid election ran: every batch record counts its leaders.
    let text = std::fs::read_to_string(&stats).unwrap();
    let leaders: u64 = text
        .lines()
        .filter(|l| l.contains("\"record\":\"batch\""))
        .map(|l| {
            let at = l.find("\"grid_leaders\":").expect("grid_leaders in every batch") + 15;
            l[at..].split([',', '}']).next().unwrap().parse::<u64>().unwrap()
        })
        .sum();
    assert!(leaders > 0, "no grid leaders with --grid: {text}");

    // A flat tree (forced; this data has structure): the same answers, and the build
    // record says so.
    let out = pcct(&[
        "knn",
        "--data",
        &s(&data),
        "--k",
        "5",
        "--self",
        "--engine",
        "tree",
        "--flat",
        "always",
        "--out-ids",
        &s(&ids),
        "--stats",
        &s(&stats),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    check_ids_csv(&ids, &brute_force_self_knn(&m, 5, &p).unwrap());
    let text = std::fs::read_to_string(&stats).unwrap();
    assert!(
        text.lines()
            .any(|l| l.contains("\"record\":\"build\"") && l.contains("\"flat\":1")),
        "{text}"
    );
    // Refused: an unknown rule, and a flat tree from the sequential builder.
    let (data_s, ids_s) = (s(&data), s(&ids));
    for (extra, why) in [
        (&["--flat", "often"][..], "expected auto, never or always"),
        (
            &["--flat", "always", "--builder", "sequential"],
            "--flat always needs the parallel builder",
        ),
    ] {
        let mut args = vec!["knn", "--data", &data_s, "--k", "5", "--self", "--engine", "tree"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--out-ids", &ids_s]);
        let out = pcct(&args);
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(why), "{extra:?}");
    }

    let out = pcct(&[
        "knn",
        "--data",
        &s(&data),
        "--k",
        "9",
        "--predecessor",
        "--out-ids",
        &s(&ids),
    ]);
    assert!(out.status.success());
    let expect = brute_force_predecessor_knn(&m, 9, &p).unwrap();
    check_ids_csv(&ids, &expect);
    assert!(std::fs::read_to_string(&ids)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .starts_with("-1,-1"));
}

#[test]
fn float32_npy_input_gives_f32_answers() {
    let (n, dim) = (300, 8);
    let values: Vec<f32> = datagen::clusters(n, dim, 5, 0.05, 3)
        .iter()
        .map(|&v| v as f32)
        .collect();
    let data = tmp("data32.npy");
    write_npy_f32(&data, &values, n, dim);
    let (ids, stats) = (tmp("ids32.npy"), tmp("stats32.jsonl"));
    let out = pcct(&[
        "knn",
        "--data",
        data.to_str().unwrap(),
        "--k",
        "4",
        "--self",
        "--out-ids",
        ids.to_str().unwrap(),
        "--stats",
        stats.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got: Vec<i64> = read_npy_body::<8>(&ids)
        .into_iter()
        .map(i64::from_le_bytes)
        .collect();
    let m = pcct::Euclidean::new(pcct::Dataset::from_rows(&values, n, dim).unwrap()).unwrap();
    let expect = brute_force_self_knn(&m, 4, &pool(1)).unwrap();
    assert_eq!(got, expect.ids().iter().map(|&i| i as i64).collect::<Vec<_>>());
    let text = std::fs::read_to_string(&stats).unwrap();
    assert!(text.contains("\"dtype\":\"f32\""), "the f32 path ran: {text}");
}

#[test]
fn bad_input_is_exit_2_one_line_and_no_output() {
    let good = tmp("good.csv");
    write_csv(&good, &datagen::uniform(20, 2, 1), 2, false);
    let three = tmp("three.csv");
    write_csv(&three, &datagen::uniform(5, 3, 1), 3, false);
    let wide = tmp("wide.csv");
    write_csv(&wide, &datagen::uniform(30, 17, 1), 17, false);
    let (nan, ragged, empty, text) = (
        tmp("nan.csv"),
        tmp("ragged.csv"),
        tmp("empty.csv"),
        tmp("text.csv"),
    );
    std::fs::write(&nan, "1,2\n3,NaN\n").unwrap();
    std::fs::write(&ragged, "1,2\n3\n").unwrap();
    std::fs::write(&empty, "").unwrap();
    std::fs::write(&text, "1,2\n3,abc\n").unwrap();
    let g = good.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--data", "/nonexistent/x.csv", "--k", "1", "--self"],
            "No such file",
        ),
        (
            vec!["--data", nan.to_str().unwrap(), "--k", "1", "--self"],
            "line 2, column 2: \"NaN\" is not a finite number",
        ),
        (
            vec!["--data", ragged.to_str().unwrap(), "--k", "1", "--self"],
            "ragged",
        ),
        (
            vec!["--data", empty.to_str().unwrap(), "--k", "1", "--self"],
            "empty",
        ),
        (
            vec!["--data", text.to_str().unwrap(), "--k", "1", "--self"],
            "line 2, column 2: \"abc\" is not a finite number",
        ),
        (vec!["--data", g, "--k", "0", "--self"], "k must be at least 1"),
        (vec!["--data", g, "--k", "21", "--self"], "exceeds"),
        (vec!["--data", g, "--k", "21", "--queries", g], "exceeds"),
        (
            vec!["--data", g, "--k", "1", "--queries", three.to_str().unwrap()],
            "dimension",
        ),
        (vec!["--data", "data.txt", "--k", "1", "--self"], "extension"),
        (
            vec!["--data", g, "--k", "1", "--self", "--order", "spiral"],
            "unknown order",
        ),
        (
            vec!["--data", g, "--k", "1", "--self", "--via", "teleport"],
            "unknown query path",
        ),
        (
            vec![
                "--data",
                wide.to_str().unwrap(),
                "--k",
                "1",
                "--self",
                "--via",
                "kd",
            ],
            "at most 16 dimensions",
        ),
        (
            vec!["--data", g, "--k", "1", "--self", "--builder", "magic"],
            "magic",
        ),
        (
            vec!["--data", g, "--k", "1", "--self", "--out-dists", "d.txt"],
            "extension",
        ),
    ];
    for (args, needle) in cases {
        let out_ids = tmp("never.npy");
        let mut all = vec!["knn"];
        all.extend(&args);
        all.extend(["--out-ids", out_ids.to_str().unwrap()]);
        let out = pcct(&all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err:?} lacks {needle:?}");
        assert!(!out_ids.exists(), "{args:?} left an output file");
    }
}

#[test]
fn residual_metric_from_the_command_line() {
    use pcct::metric::{Kernel, KernelKind, Residual};
    let (n, dim) = (400, 2);
    let x = datagen::uniform(n, dim, 21);
    let z = datagen::uniform(25, dim, 22);
    let xq = datagen::uniform(30, dim, 23);
    let (data, zf, qf, ids) = (tmp("rx.csv"), tmp("rz.csv"), tmp("rq.csv"), tmp("rids.csv"));
    write_csv(&data, &x, dim, false);
    write_csv(&zf, &z, dim, true);
    write_csv(&qf, &xq, dim, false);
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let common = [
        "--metric",
        "residual",
        "--inducing",
        &s(&zf),
        "--kernel",
        "matern32",
        "--lengthscale",
        "0.3,0.4",
        "--variance",
        "2",
    ];
    let d = s(&data);
    let p = pool(2);
    let kernel = Kernel::new(KernelKind::Matern32, 2.0, &[0.3, 0.4]).unwrap();
    let m = Residual::from_inducing(&x, dim, &z, kernel, 1e-6, &p).unwrap();

    let mut args = vec!["knn", "--data", &d, "--k", "6", "--predecessor", "--out-ids"];
    let ids_s = s(&ids);
    args.push(&ids_s);
    args.extend(common);
    let out = pcct(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    check_ids_csv(&ids, &brute_force_predecessor_knn(&m, 6, &p).unwrap());

    let qs = s(&qf);
    let mut args = vec![
        "knn",
        "--data",
        &d,
        "--k",
        "4",
        "--queries",
        &qs,
        "--out-ids",
        &ids_s,
    ];
    args.extend(common);
    let out = pcct(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let q = m.queries(&xq, &p).unwrap();
    check_ids_csv(&ids, &brute_force_knn(&m, &q, 4, &p).unwrap());

    // Audit mode: same answer, and stderr reports rejections and zero misses.
    args.push("--audit");
    let out = pcct(&args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    check_ids_csv(&ids, &brute_force_knn(&m, &q, 4, &p).unwrap());
    let line = err
        .lines()
        .find(|l| l.starts_with("audit:"))
        .expect("an audit line");
    assert!(line.ends_with(" 0 misses"), "{line}");
    assert!(!line.contains("out 0 rows"), "{line}");
    // --audit without the residual metric is refused.
    let out = pcct(&[
        "knn",
        "--data",
        &d,
        "--k",
        "2",
        "--self",
        "--out-ids",
        &ids_s,
        "--audit",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs --metric residual"));

    // Errors: one line, exit 2.
    let three = tmp("rz3.csv");
    write_csv(&three, &datagen::uniform(5, 3, 1), 3, false);
    let t = s(&three);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--metric", "residual"], "needs --inducing"),
        (vec!["--metric", "residual", "--inducing", &t], "dimension 3"),
        (
            vec!["--metric", "residual", "--inducing", &qs, "--kernel", "gauss"],
            "unknown kernel",
        ),
        (
            vec!["--metric", "residual", "--inducing", &qs, "--variance=-1"],
            "variance",
        ),
        (
            vec![
                "--metric",
                "residual",
                "--inducing",
                &qs,
                "--lengthscale",
                "1,2,3",
            ],
            "3 lengthscales",
        ),
        (vec!["--inducing", &qs], "needs --metric residual"),
    ];
    for (extra, needle) in cases {
        let never = s(&tmp("never-r.csv"));
        let mut args = vec!["knn", "--data", &d, "--k", "2", "--self", "--out-ids", &never];
        args.extend(&extra);
        let out = pcct(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{extra:?}: {err}");
        assert!(err.contains(needle), "{extra:?}: {err:?} lacks {needle:?}");
    }
}
