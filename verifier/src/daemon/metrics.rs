//! Metrics in the Prometheus text format, from the daemon's status.
use provgate_common::HOOK_COUNT;

use super::event_loop::Daemon;
use crate::kernel::{events::hook_name, loader::Enforcement};

/// Renders counters in the Prometheus text exposition format.
#[derive(Default)]
pub struct MetricsText(String);

impl MetricsText {
    pub fn metric(&mut self, name: &str, kind: &str, help: &str, samples: &[(&str, f64)]) {
        use std::fmt::Write as _;
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(self.0, "{name}{labels} {value}");
        }
    }

    pub fn finish(self) -> String {
        self.0
    }
}

impl Daemon {
    pub fn metrics(&self) -> String {
        let s = self.status();
        let mut m = MetricsText::default();
        let mut decisions = Vec::new();
        let labels: Vec<(String, u64)> = (0..HOOK_COUNT)
            .flat_map(|h| {
                let hook = hook_name(h as u8);
                [
                    (format!("{{hook=\"{hook}\",verdict=\"allowed\"}}"), s.counters.allowed[h]),
                    (format!("{{hook=\"{hook}\",verdict=\"denied\"}}"), s.counters.denied[h]),
                    (format!("{{hook=\"{hook}\",verdict=\"would_deny\"}}"), s.counters.audited[h]),
                ]
            })
            .collect();
        for (label, value) in &labels {
            decisions.push((label.as_str(), *value as f64));
        }
        m.metric("provgate_decisions_total", "counter", "Kernel decisions by hook and verdict.", &decisions);
        let single = |m: &mut MetricsText, name: &str, kind: &str, help: &str, value: f64| {
            m.metric(name, kind, help, &[("", value)]);
        };
        let enforcing = matches!(s.enforcement, Some(Enforcement::Lsm));
        single(
            &mut m,
            "provgate_enforcing",
            "gauge",
            "1 when the LSM programs are attached, 0 when observe-only.",
            f64::from(u8::from(enforcing)),
        );
        single(
            &mut m,
            "provgate_cache_hits_total",
            "counter",
            "Files whose digest came from the file cache.",
            s.daemon.cache_hits as f64,
        );
        single(&mut m, "provgate_hashes_total", "counter", "Files hashed.", s.daemon.hashes as f64);
        single(&mut m, "provgate_hashed_bytes_total", "counter", "Bytes hashed.", s.daemon.bytes_hashed as f64);
        single(&mut m, "provgate_events_recorded_total", "counter", "Kernel events stored.", s.events_recorded as f64);
        single(
            &mut m,
            "provgate_events_dropped_total",
            "counter",
            "Kernel events lost because the ring buffer was full.",
            s.counters.events_dropped as f64,
        );
        single(
            &mut m,
            "provgate_events_not_stored_total",
            "counter",
            "Kernel events read but not stored (store errors).",
            s.daemon.events_not_stored as f64,
        );
        single(
            &mut m,
            "provgate_events_exported_total",
            "counter",
            "Events written to the [events] output.",
            s.daemon.events_exported as f64,
        );
        single(
            &mut m,
            "provgate_events_not_exported_total",
            "counter",
            "Events the [events] output did not take (write errors, events longer than max_bytes).",
            s.daemon.events_not_exported as f64,
        );
        single(
            &mut m,
            "provgate_anon_exec_total",
            "counter",
            "Anonymous executable mappings seen in scope.",
            s.counters.anon_exec as f64,
        );
        single(&mut m, "provgate_verdict_map_entries", "gauge", "Files in the kernel verdict map.", s.verdicts as f64);
        single(
            &mut m,
            "provgate_verdict_map_capacity",
            "gauge",
            "Capacity of the kernel verdict map.",
            f64::from(s.verdict_capacity),
        );
        single(
            &mut m,
            "provgate_verdict_map_fill_ratio",
            "gauge",
            "Fill of the kernel verdict map.",
            s.verdicts as f64 / f64::from(s.verdict_capacity.max(1)),
        );
        single(
            &mut m,
            "provgate_allowed_digests",
            "gauge",
            "Distinct digests on the allowlist.",
            s.allowed_digests as f64,
        );
        single(
            &mut m,
            "provgate_exec_permission_events_total",
            "counter",
            "Execs held until their file was hashed (fanotify).",
            s.daemon.exec_permission_events as f64,
        );
        single(
            &mut m,
            "provgate_exec_skip_marks",
            "gauge",
            "Files whose execs skip the daemon until written (fanotify ignore marks since the last flush).",
            s.daemon.exec_skip_marks as f64,
        );
        single(
            &mut m,
            "provgate_close_write_events_total",
            "counter",
            "Written files seen (fanotify).",
            s.daemon.close_write_events as f64,
        );
        single(
            &mut m,
            "provgate_fanotify_overflows_total",
            "counter",
            "fanotify queue overflows.",
            s.daemon.fanotify_overflows as f64,
        );
        m.finish()
    }
}
