//! The daemon's report on itself, as the API answers `status`.
use std::sync::atomic::Ordering;

use super::event_loop::Daemon;
use crate::api::{DaemonCounters, DaemonStatus, ProgramStat};

impl Daemon {
    pub fn status(&self) -> DaemonStatus {
        let stats = &self.engine.stats;
        let watch = self.watcher.as_ref().map(|w| &w.stats);
        let load = |v: &std::sync::atomic::AtomicU64| v.load(Ordering::Relaxed);
        DaemonStatus {
            pid: std::process::id(),
            started_at_ms: self.started_at_ms,
            state: self.state,
            mode: self.config.mode,
            cgroups: self.scopes.clone(),
            enforcement: Some(self.attached.enforcement.clone()),
            observe_only_requested: self.config.observe_only,
            kernel: self.kernel.clone(),
            keep_on_exit: self.config.keep_on_exit,
            hardened: self.config.hardened,
            deny_anon_exec: self.config.deny_anon_exec,
            unavailable: self.attached.missing.clone(),
            took_over: self.attached.took_over,
            pin_dir: self.config.pin_dir.clone(),
            store: self.config.store.clone(),
            verdicts: self.engine.map_entries(),
            verdict_capacity: self.config.verdict_capacity,
            allowed_digests: self.engine.allowed_digests(),
            watched: self
                .watcher
                .as_ref()
                .map(|w| w.watched.lock().unwrap_or_else(|e| e.into_inner()).clone())
                .unwrap_or_default(),
            metrics_address: self.config.metrics_address.clone(),
            counters: self.attached.maps.counters(),
            daemon: DaemonCounters {
                hashes: load(&stats.hashes),
                bytes_hashed: load(&stats.bytes_hashed),
                cache_hits: load(&stats.cache_hits),
                cached_files: self.engine.cached_files(),
                map_updates: load(&stats.map_updates),
                map_errors: load(&stats.map_errors),
                exec_permission_events: watch.map_or(0, |w| load(&w.exec_permission_events)),
                exec_skip_marks: watch.map_or(0, |w| load(&w.skip_marks)),
                exec_skip_mark_flushes: watch.map_or(0, |w| load(&w.skip_mark_flushes)),
                close_write_events: watch.map_or(0, |w| load(&w.close_write_events)),
                fanotify_overflows: watch.map_or(0, |w| load(&w.overflows)),
                events_recorded: load(&self.recorder.stats.recorded),
                events_not_stored: load(&self.recorder.stats.not_stored),
                events_exported: load(&self.recorder.stats.exported),
                events_not_exported: load(&self.recorder.stats.not_exported),
            },
            events_recorded: load(&self.recorder.stats.recorded),
            program_stats: self
                .attached
                .program_stats()
                .into_iter()
                .map(|(program, run_time_ns, run_count)| ProgramStat {
                    program: program.into(),
                    run_time_ns,
                    run_count,
                })
                .collect(),
            feeds: self.store.feeds().unwrap_or_else(|e| {
                tracing::warn!("reading the feeds followed: {e}");
                Vec::new()
            }),
        }
    }
}
