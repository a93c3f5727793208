//! The `pcct` command line: argument parsing and the subcommands.
//!
//! Every command prints one clear line and exits with status 2 on bad input.

mod info;

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
}

/// Parses the process arguments, runs the command, and returns the exit status.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let result = match cli.command {
        Command::Info => info::run(&mut std::io::stdout().lock()),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("pcct: error: {e}");
            2
        }
    }
}
