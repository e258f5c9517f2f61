//! The demo's output: numbered steps, results, and a progress line while waiting (redrawn in
//! place on a terminal, one line per second otherwise).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// Writes the demo's story to stdout.
pub struct Report {
    terminal: bool,
    step: usize,
    frame: usize,
    last_line: Option<Instant>,
}

impl Default for Report {
    fn default() -> Self {
        Self::new()
    }
}

impl Report {
    /// A report on stdout.
    pub fn new() -> Self {
        Self {
            terminal: std::io::stdout().is_terminal(),
            step: 0,
            frame: 0,
            last_line: None,
        }
    }

    fn line(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        // A closed stdout must not stop the demo.
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    /// Starts the next numbered step.
    pub fn step(&mut self, title: &str) {
        self.step += 1;
        self.line(&format!("\n{}. {title}", self.step));
    }

    /// A plugin call.
    pub fn call(&self, action: &str, what: &str) {
        self.line(&format!("   → {action} {what}"));
    }

    /// A detail under the current line.
    pub fn detail(&self, text: &str) {
        self.line(&format!("       {text}"));
    }

    /// An outcome.
    pub fn ok(&self, text: &str) {
        self.line(&format!("   ✓ {text}"));
    }

    /// A plain line.
    pub fn note(&self, text: &str) {
        self.line(&format!("   {text}"));
    }

    /// An empty line.
    pub fn blank(&self) {
        self.line("");
    }

    /// Shows that a wait is under way.
    pub fn waiting(&mut self, what: &str, elapsed: Duration, state: &str) {
        self.frame = (self.frame + 1) % SPINNER.len();
        let text = format!(
            "   {} {what} … {:.1} s  {state}",
            SPINNER[self.frame],
            elapsed.as_secs_f64()
        );
        if self.terminal {
            let mut out = std::io::stdout().lock();
            let _ = write!(out, "\r\x1b[2K{text}");
            let _ = out.flush();
        } else if self
            .last_line
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
        {
            self.last_line = Some(Instant::now());
            self.line(&text);
        }
    }

    /// Ends a wait started with [`Report::waiting`].
    pub fn waited(&mut self) {
        self.last_line = None;
        if self.terminal {
            let mut out = std::io::stdout().lock();
            let _ = write!(out, "\r\x1b[2K");
            let _ = out.flush();
        }
    }
}
