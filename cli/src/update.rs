//! `pcct update`: deletes and inserts points in a saved tree and saves the new version
//! (the input file is left as it was).

use super::input::{note, read_input, HeaderArgs};
use super::progress::Progress;
use super::saved::{euclidean, residual_points, SavedTree};
use clap::{ArgGroup, Args};
use pcct::io::{check_files, read_ids, write_all, Output};
use pcct::persist::Persist;
use pcct::telemetry::{Record, Value};
use pcct::{BuildOptions, Metric, Pool, Result, Tree};
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `pcct update`.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("change").required(true).multiple(true).args(["insert", "delete"])))]
pub struct UpdateArgs {
    /// The saved tree (from `pcct knn --save-tree` or an earlier update).
    #[arg(long, value_name = "TREE")]
    pub tree: PathBuf,
    /// New points (.npy or .csv, the tree's dimension); they get the next unused ids, in row order.
    #[arg(long, value_name = "NEW")]
    pub insert: Option<PathBuf>,
    /// Ids to delete: int64 .npy (1-D) or a text file with one id per line. Applied before --insert.
    #[arg(long, value_name = "IDS")]
    pub delete: Option<PathBuf>,
    /// Where to write the new tree.
    #[arg(long, value_name = "TREE")]
    pub out: PathBuf,
    /// Worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Seed of the insert's batch pipeline.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write one `update` telemetry record (JSON Lines).
    #[arg(long, value_name = "STATS")]
    pub stats: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// What line 1 of CSV inputs is.
    #[command(flatten)]
    pub header: HeaderArgs,
}

/// Runs `pcct update`.
pub fn run(args: &UpdateArgs) -> Result<()> {
    let inputs = [Some(&args.tree), args.insert.as_ref(), args.delete.as_ref()];
    let outputs = [Some(&args.out), args.stats.as_ref()];
    check_files(
        &inputs.iter().flatten().map(|p| p.as_path()).collect::<Vec<_>>(),
        &outputs.iter().flatten().map(|p| p.as_path()).collect::<Vec<_>>(),
    )?;
    let ids = args.delete.as_deref().map(read_ids).transpose()?;
    if let (Some(ids), Some(path)) = (&ids, &args.delete) {
        report_repeats(ids, path);
    }
    let new = args
        .insert
        .as_deref()
        .map(|p| read_input(p, args.header.mode()))
        .transpose()?;
    let pool = Pool::new(args.threads)?;
    let opts = BuildOptions {
        seed: args.seed,
        ..BuildOptions::default()
    };
    let progress = Progress::new(1, "pcct update", args.quiet);
    progress.step("loading the tree");
    match SavedTree::read(&args.tree)? {
        SavedTree::F32(tree) => {
            let new = new.map(|m| euclidean::<f32>(&m, "insert")).transpose()?;
            apply(args, tree, ids, new, &pool, &opts, &progress)
        }
        SavedTree::F64(tree) => {
            let new = new.map(|m| euclidean::<f64>(&m, "insert")).transpose()?;
            apply(args, tree, ids, new, &pool, &opts, &progress)
        }
        SavedTree::Residual(tree) => {
            let new = new
                .map(|m| residual_points(&tree, &m, "insert", &pool))
                .transpose()?;
            apply(args, *tree, ids, new, &pool, &opts, &progress)
        }
    }
}

/// Says on stderr which ids the delete list names more than once (each is deleted once).
fn report_repeats(ids: &[u32], path: &std::path::Path) {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    let mut repeated: Vec<u32> = sorted.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect();
    repeated.dedup();
    if let Some(first) = repeated.first() {
        note(format!(
            "{} lists {} id(s) more than once (the first: {first}); each is deleted once",
            path.display(),
            repeated.len()
        ));
    }
}

fn apply<M: Metric + Persist>(
    args: &UpdateArgs,
    tree: Tree<M>,
    ids: Option<Vec<u32>>,
    new: Option<M>,
    pool: &Pool,
    opts: &BuildOptions,
    progress: &Progress,
) -> Result<()> {
    let t0 = Instant::now();
    let before = (tree.len(), tree.id_bound());
    let mut tree = tree;
    if let Some(ids) = &ids {
        progress.step(format!("deleting {} points", ids.len()));
        tree = tree.delete(ids, pool)?;
    }
    let first_new = tree.id_bound();
    if let Some(new) = &new {
        progress.step(format!("inserting {} points", new.len()));
        tree = tree.insert_with(new, pool, opts)?.0;
    }
    let seconds = t0.elapsed().as_secs_f64();
    progress.finish();
    let inserted = new.as_ref().map_or(0, |m| m.len());
    let deleted = before.0 + inserted - tree.len();
    let bytes = tree.to_bytes();
    let record = Record::new("update")
        .with("deleted", Value::Int(deleted as u64))
        .with("inserted", Value::Int(inserted as u64))
        .with("first_new_id", Value::Int(first_new as u64))
        .with("points", Value::Int(tree.len() as u64))
        .with("id_bound", Value::Int(tree.id_bound() as u64))
        .with("update_s", Value::Num(seconds))
        .to_json()
        + "\n";
    let mut outputs = vec![(args.out.as_path(), Output::Bytes(&bytes), 0, 0)];
    if let Some(p) = &args.stats {
        outputs.push((p.as_path(), Output::Text(&record), 0, 0));
    }
    write_all(&outputs)?;
    println!(
        "{}: {} points → deleted {deleted}, inserted {inserted}{} → {} points; wrote {} ({:.3} s)",
        args.tree.display(),
        before.0,
        if inserted > 0 {
            format!(" (ids {first_new}..{})", first_new + inserted - 1)
        } else {
            String::new()
        },
        tree.len(),
        args.out.display(),
        seconds
    );
    Ok(())
}
