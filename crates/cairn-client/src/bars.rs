//! Progress bars on stderr (indicatif) for the CLI and the Python package; indicatif draws
//! nothing when stderr is not a terminal.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::progress::{Phase, Progress};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// One bar per phase (hashing, uploading, downloading).
pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<Phase, ProgressBar>>,
}

impl std::fmt::Debug for Bars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bars").finish_non_exhaustive()
    }
}

impl Bars {
    /// Bars on stderr, or drawn nowhere when `hidden`.
    pub fn new(hidden: bool) -> Self {
        let target = if hidden {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        Self {
            multi: MultiProgress::with_draw_target(target),
            bars: Mutex::new(HashMap::new()),
        }
    }
}

fn label(phase: Phase) -> &'static str {
    match phase {
        Phase::Hash => "hashing",
        Phase::Upload => "uploading",
        Phase::Download => "downloading",
    }
}

impl Progress for Bars {
    fn begin(&self, phase: Phase, total: u64) {
        let bar = self.multi.add(ProgressBar::new(total));
        let style = ProgressStyle::with_template(
            "{prefix:>12} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(label(phase));
        if let Ok(mut bars) = self.bars.lock() {
            bars.insert(phase, bar);
        }
    }

    fn advance(&self, phase: Phase, bytes: u64) {
        if let Some(bar) = self.bars.lock().ok().and_then(|b| b.get(&phase).cloned()) {
            bar.inc(bytes);
        }
    }

    fn end(&self, phase: Phase) {
        if let Some(bar) = self.bars.lock().ok().and_then(|mut b| b.remove(&phase)) {
            bar.finish_and_clear();
        }
    }
}
