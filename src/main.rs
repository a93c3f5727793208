//! The `pcct` command-line tool; see `pcct --help`.

fn main() {
    std::process::exit(pcct::cli::main());
}
