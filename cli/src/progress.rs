//! Progress bars on stderr for the CLI: shown only when stderr is a terminal and
//! `--quiet` is off, so pipes, files and tests see nothing.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// A progress bar (or nothing, when hidden).
pub struct Progress(ProgressBar);

impl Progress {
    /// A bar of `len` steps labelled `what`; hidden if `quiet` or stderr is not a terminal.
    pub fn new(len: u64, what: &str, quiet: bool) -> Self {
        let bar = if quiet || !std::io::stderr().is_terminal() {
            ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden())
        } else {
            let bar = ProgressBar::new(len);
            bar.set_style(
                ProgressStyle::with_template("{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}")
                    .expect("a valid template"),
            );
            // Ticks keep the elapsed time moving through one long step.
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        };
        bar.set_prefix(what.to_string());
        Progress(bar)
    }

    /// Says what runs now.
    pub fn step(&self, message: impl Into<String>) {
        self.0.set_message(message.into());
    }

    /// Sets the position (e.g. points inserted so far).
    pub fn set(&self, pos: u64) {
        self.0.set_position(pos);
    }

    /// Sets the number of steps (e.g. queries, once the work turns out to be queries).
    pub fn set_len(&self, len: u64) {
        self.0.set_length(len);
    }

    /// Advances by `n`.
    pub fn inc(&self, n: u64) {
        self.0.inc(n);
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}
