//! The `pcct` command line: argument parsing and the subcommands.
//!
//! Every command prints one clear line and exits with status 2 on bad input.

mod info;
mod knn;

pub use knn::KnnArgs;

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
    /// Print the CPU's ISA levels, the level pcct uses and why, cores and version.
    Info,
    /// Exact k nearest neighbours: data (and queries) in, ids and distances out.
    ///
    /// Example: pcct knn --data X.npy --k 30 --predecessor --out-ids nn.npy --out-dists d.npy
    Knn(Box<KnnArgs>),
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

/// Parses the process arguments, runs the command, and returns the exit status.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print(); // --help, --version
            return 0;
        }
        Err(e) => {
            eprintln!("pcct: error: {} (see --help)", one_line(&e.to_string()));
            return 2;
        }
    };
    let result = match cli.command {
        Command::Info => info::run(&mut std::io::stdout().lock()),
        Command::Knn(args) => knn::run(&args),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("pcct: error: {e}");
            2
        }
    }
}
