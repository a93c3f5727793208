//! The `pcct` command line: argument parsing and the subcommands. It converts files to
//! the library's types, validates and reports; every algorithm lives in the `pcct` crate.
//!
//! Every command prints one clear line and exits with status 2 on bad input.

mod bench;
mod info;
mod input;
mod knn;
mod model;
mod plot;
mod progress;
mod saved;
mod stats;
mod tune;
mod update;
mod vecchia;

use bench::BenchArgs;
use knn::KnnArgs;
use stats::StatsArgs;
use tune::TuneArgs;
use update::UpdateArgs;
use vecchia::VecchiaArgs;

use clap::{Parser, Subcommand};

/// pcct: exact k-nearest neighbours with a parallel compressed cover tree.
#[derive(Parser, Debug)]
#[command(name = "pcct", version, about, long_about = None)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands of `pcct`.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// The main job: the workload table W1–W9 on generated data, each job planned (tree or
    /// dense engine) and spot-checked; brute force, the other engine and the sequential
    /// tree on request (--baselines), same run, same threads.
    ///
    /// Examples: pcct bench · pcct bench --workload W3,W6 --repeat 5 --markdown ·
    /// pcct bench --baselines brute,other --markdown ·
    /// pcct bench --scale 0.125 --plot bench.svg --json bench.json
    Bench(Box<BenchArgs>),
    /// Print the CPU's ISA levels, the level pcct uses and why, the tuning profile, cores and version.
    Info,
    /// Exact k nearest neighbours: data (and queries) in, ids and distances out.
    ///
    /// Example: pcct knn --data X.npy --k 30 --predecessor --out-ids nn.npy --out-dists d.npy
    Knn(Box<KnnArgs>),
    /// Measure the kernel ISA levels and pair budgets on this CPU and write a profile.
    ///
    /// Example: pcct tune --out my-cpu.json && pcct bench --profile my-cpu.json
    Tune(TuneArgs),
    /// Delete and insert points in a saved tree, writing the new version to --out.
    ///
    /// Example: pcct knn --data X.npy --k 10 --self --out-ids nn.npy --save-tree t.pcct &&
    /// pcct update --tree t.pcct --delete gone.txt --insert new.npy --out t2.pcct
    Update(UpdateArgs),
    /// Vecchia set-up in one command: the exact maximin ordering, then each point's k
    /// nearest among the points before it in that order (ids are positions in the order).
    ///
    /// Example: pcct vecchia --data X.npy --k 30 --out-order order.npy --out-ids nn.npy
    Vecchia(Box<VecchiaArgs>),
    /// Summarize a --stats telemetry file (stage shares, slowest batches); --plot draws it.
    ///
    /// Example: pcct knn … --stats s.jsonl && pcct stats s.jsonl --plot s.svg
    Stats(StatsArgs),
}

/// A clap message on one line: its lines joined, usage and hints dropped.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .map(|l| l.strip_prefix("error: ").unwrap_or(l))
        .fold(String::new(), |mut acc, l| {
            if !acc.is_empty() {
                acc.push_str(if acc.ends_with(':') { " " } else { "; " });
            }
            acc.push_str(l);
            acc
        })
}

fn main() {
    std::process::exit(run());
}

/// Parses the process arguments, runs the command, and returns the exit status.
fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print(); // --help, --version
            return 0;
        }
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // Bare `pcct` (or a command without its arguments): the help as it is, not
            // squashed into one error line; still exit status 2.
            let _ = e.print();
            return 2;
        }
        Err(e) => {
            eprintln!("pcct: error: {} (see --help)", one_line(&e.to_string()));
            return 2;
        }
    };
    let result = match cli.command {
        Command::Info => info::run(&mut std::io::stdout().lock()),
        Command::Knn(args) => knn::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Tune(args) => tune::run(&args),
        Command::Stats(args) => stats::run(&args),
        Command::Update(args) => update::run(&args),
        Command::Vecchia(args) => vecchia::run(&args),
    };
    match result {
        Ok(()) => {
            input::flush_notes();
            0
        }
        Err(e) => {
            eprintln!("pcct: error: {e}");
            2
        }
    }
}
