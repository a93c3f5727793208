//! Nothing lost, nothing guessed: CSV line 1 and byte-order marks, output paths checked
//! (distinct, never an input, folders present) before any work, options that do not apply
//! refused, repeated delete ids reported.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pcct-cli-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn pcct(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pcct"))
        .args(args)
        .output()
        .unwrap()
}

/// `pcct knn --data DATA --k 1 --self` followed by `rest`.
fn knn_self(data: &Path, rest: &[&str]) -> Output {
    let mut args = vec!["knn", "--data", s(data), "--k", "1", "--self"];
    args.extend(rest);
    pcct(&args)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exit status 2 with one error line containing `needle`.
fn refused(out: &Output, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
}

fn rows(path: &Path) -> usize {
    std::fs::read_to_string(path).unwrap().lines().count()
}

/// Three points: a byte-order mark before the first keeps it a data row.
fn three_points(name: &str) -> PathBuf {
    let p = tmp(name);
    std::fs::write(&p, b"\xEF\xBB\xBF1,2,3\n4,5,6\n7,8,10\n").unwrap();
    p
}

#[test]
fn a_byte_order_mark_keeps_every_row() {
    let (data, ids) = (three_points("bom.csv"), tmp("bom-ids.csv"));
    let out = knn_self(&data, &["--out-ids", s(&ids), "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(rows(&ids), 3);
    assert!(stderr(&out).contains("line 1 read as data"), "{}", stderr(&out));
}

#[test]
fn line_one_is_what_the_user_says_and_a_gap_in_it_is_an_error() {
    // pandas' to_csv(index=False) header: column names that are numbers.
    let data = tmp("pandas.csv");
    std::fs::write(&data, "0,1,2\n1,2,3\n4,5,6\n7,8,9\n").unwrap();
    let ids = tmp("pandas-ids.csv");
    let args = |h: &'static str| {
        vec![
            "knn",
            "--data",
            s(&data),
            "--k",
            "1",
            "--self",
            "--out-ids",
            s(&ids),
            "--quiet",
            h,
        ]
    };
    let out = pcct(&args("--header"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(rows(&ids), 3);
    let out = pcct(&args("--no-header"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(rows(&ids), 4);
    // A text header is skipped and said to be.
    let named = tmp("named.csv");
    std::fs::write(&named, "x,y\n1,2\n3,4\n").unwrap();
    let out = knn_self(&named, &["--out-ids", s(&ids), "--quiet"]);
    assert_eq!(rows(&ids), 2);
    assert!(
        stderr(&out).contains("line 1 read as a header"),
        "{}",
        stderr(&out)
    );
    // A missing value in line 1 is the same error as anywhere else.
    let gap = tmp("gap.csv");
    std::fs::write(&gap, "1,NA,3\n4,5,6\n7,8,9\n").unwrap();
    let never = tmp("gap-ids.csv");
    let out = knn_self(&gap, &["--out-ids", s(&never)]);
    refused(&out, "line 1, column 2");
    assert!(!never.exists());
}

#[test]
fn outputs_are_checked_before_any_work() {
    let data = three_points("in.csv");
    let before = std::fs::read(&data).unwrap();
    // The input by another spelling.
    let respelled = data.parent().unwrap().join(".").join("in.csv");
    let out = knn_self(&data, &["--out-ids", s(&respelled)]);
    refused(&out, "would overwrite the input");
    assert_eq!(std::fs::read(&data).unwrap(), before, "the input was changed");
    // Two outputs in one file.
    let both = tmp("both.npy");
    let out = knn_self(&data, &["--out-ids", s(&both), "--out-dists", s(&both)]);
    refused(&out, "same file");
    assert!(!both.exists(), "an output was left behind");
    // An output that is a folder: no ids file left behind.
    let folder = tmp("folder.npy");
    std::fs::create_dir_all(&folder).unwrap();
    let ids = tmp("ids-beside-folder.npy");
    let out = knn_self(&data, &["--out-ids", s(&ids), "--out-dists", s(&folder)]);
    refused(&out, "is a folder");
    assert!(!ids.exists(), "the ids file was left behind");
    // A missing output folder is found before the input is even read (this input is bad).
    let bad = tmp("bad.csv");
    std::fs::write(&bad, "1,2\n3,x\n").unwrap();
    let nowhere = tmp("no-such-folder").join("ids.npy");
    let out = knn_self(&bad, &["--out-ids", s(&nowhere)]);
    refused(&out, "folder does not exist");
}

#[test]
fn options_a_loaded_tree_cannot_use_are_refused_and_repeats_reported() {
    let data = three_points("tree-data.csv");
    let (tree, ids) = (tmp("t.pcct"), tmp("t-ids.csv"));
    let out = knn_self(&data, &["--out-ids", s(&ids), "--save-tree", s(&tree), "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let z = three_points("z.csv");
    let out = pcct(&[
        "knn",
        "--load-tree",
        s(&tree),
        "--metric",
        "residual",
        "--inducing",
        s(&z),
        "--k",
        "1",
        "--self",
        "--out-ids",
        s(&tmp("never-loaded.csv")),
    ]);
    refused(&out, "does not apply to a loaded tree");
    // Deleting an id listed twice deletes it once and says so.
    let list = tmp("twice.txt");
    std::fs::write(&list, "0\n0\n").unwrap();
    let out = pcct(&[
        "update",
        "--tree",
        s(&tree),
        "--delete",
        s(&list),
        "--out",
        s(&tmp("t2.pcct")),
        "--quiet",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("deleted 1"));
    assert!(stderr(&out).contains("more than once"), "{}", stderr(&out));
    // The saved tree cannot be overwritten by its own update.
    let out = pcct(&[
        "update",
        "--tree",
        s(&tree),
        "--delete",
        s(&list),
        "--out",
        s(&tree),
    ]);
    refused(&out, "would overwrite the input");
}

#[test]
fn bare_pcct_prints_its_help_not_one_squashed_line() {
    let out = pcct(&[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("Usage: pcct <COMMAND>"), "{err}");
    assert!(
        err.lines().filter(|l| l.trim_start().starts_with("knn")).count() == 1,
        "{err}"
    );
    assert!(err.lines().count() > 8, "{err}");
}

/// A residual model whose inducing points sit on the data leaves rounding for residual
/// variance: the command says so; a model with inducing points apart from the data does not.
#[test]
fn a_residual_model_at_the_jitter_floor_is_reported() {
    let grid = |n: usize, off: f64| -> String {
        (0..n)
            .map(|i| {
                format!(
                    "{},{}\n",
                    (i % 15) as f64 / 15.0 + off,
                    (i / 15) as f64 / 15.0 + off
                )
            })
            .collect()
    };
    let (x, on, apart) = (tmp("rx.csv"), tmp("z-on.csv"), tmp("z-apart.csv"));
    std::fs::write(&x, grid(200, 0.0)).unwrap();
    std::fs::write(&on, grid(200, 0.0)).unwrap();
    std::fs::write(&apart, grid(9, 0.031)).unwrap();
    let run = |z: &Path| {
        pcct(&[
            "knn",
            "--data",
            s(&x),
            "--metric",
            "residual",
            "--inducing",
            s(z),
            "--lengthscale",
            "0.3",
            "--k",
            "3",
            "--self",
            "--out-ids",
            s(&tmp("r-ids.csv")),
            "--quiet",
            "--no-header",
        ])
    };
    let out = run(&on);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("within 100× the jitter"),
        "{}",
        stderr(&out)
    );
    let out = run(&apart);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("jitter"), "{}", stderr(&out));
}
