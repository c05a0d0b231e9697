//! Latency samples per operation and the summary the load generator prints.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::worker::Op;

/// Samples per operation, and the errors.
#[derive(Clone, Debug, Default)]
pub struct Latencies {
    samples: BTreeMap<Op, Vec<Duration>>,
    errors: BTreeMap<Op, Vec<String>>,
}

/// The summary of one operation.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Operation name.
    pub op: &'static str,
    /// Successful operations.
    pub count: usize,
    /// Failed operations.
    pub errors: usize,
    /// Successful operations per second of the run.
    pub per_second: f64,
    /// Median latency, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile, milliseconds.
    pub p99_ms: f64,
    /// Slowest, milliseconds.
    pub max_ms: f64,
}

impl Latencies {
    /// Record one success.
    pub fn ok(&mut self, op: Op, took: Duration) {
        self.samples.entry(op).or_default().push(took);
    }

    /// Record one failure.
    pub fn failed(&mut self, op: Op, error: String) {
        self.errors.entry(op).or_default().push(error);
    }

    /// Merge another worker's samples.
    pub fn merge(&mut self, other: Latencies) {
        for (op, s) in other.samples {
            self.samples.entry(op).or_default().extend(s);
        }
        for (op, e) in other.errors {
            self.errors.entry(op).or_default().extend(e);
        }
    }

    /// All error messages.
    pub fn errors(&self) -> impl Iterator<Item = &String> {
        self.errors.values().flatten()
    }

    /// One summary per operation seen, plus `all`, over a run of `elapsed`.
    pub fn summarize(&self, elapsed: Duration) -> Vec<Summary> {
        let secs = elapsed.as_secs_f64().max(f64::EPSILON);
        let ops: std::collections::BTreeSet<Op> = self
            .samples
            .keys()
            .chain(self.errors.keys())
            .copied()
            .collect();
        let mut all = Vec::new();
        let mut out = Vec::new();
        for op in ops {
            let s = self.samples.get(&op).cloned().unwrap_or_default();
            all.extend_from_slice(&s);
            out.push(summary(
                op.name(),
                s,
                self.errors.get(&op).map_or(0, Vec::len),
                secs,
            ));
        }
        let errors = self.errors.values().map(Vec::len).sum();
        out.push(summary("all", all, errors, secs));
        out
    }
}

fn summary(op: &'static str, mut s: Vec<Duration>, errors: usize, secs: f64) -> Summary {
    s.sort_unstable();
    let at = |q: f64| {
        if s.is_empty() {
            0.0
        } else {
            let i = ((s.len() as f64 * q).ceil() as usize).clamp(1, s.len()) - 1;
            s[i].as_secs_f64() * 1e3
        }
    };
    Summary {
        op,
        count: s.len(),
        errors,
        per_second: s.len() as f64 / secs,
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        max_ms: at(1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut l = Latencies::default();
        for ms in 1..=100 {
            l.ok(Op::Commit, Duration::from_millis(ms));
        }
        l.failed(Op::Download, "boom".into());
        let s = l.summarize(Duration::from_secs(10));
        let commit = &s[0];
        assert_eq!(
            (commit.p50_ms, commit.p99_ms, commit.max_ms),
            (50.0, 99.0, 100.0)
        );
        assert_eq!(commit.per_second, 10.0);
        let all = s.last().unwrap();
        assert_eq!((all.op, all.count, all.errors), ("all", 100, 1));
    }
}
