//! The daemon follows its trust feeds on its own: a thread with its own store connection and
//! runtime syncs every feed each `feed_interval`, so a slow registry never holds up the event
//! loop. New trust reaches the kernel maps as any store change does (the loop polls the store's
//! trust generation).
use std::{
    path::PathBuf,
    sync::mpsc::{self, RecvTimeoutError, Sender},
    thread::JoinHandle,
    time::Duration,
};

use anyhow::{Context as _, Result};

use crate::{config::Config, feeds, store::Store};

/// What the syncer needs: the configuration (feeds, policy, trusted root, registries) and the
/// interval.
#[derive(Clone, Debug)]
pub struct FeedSettings {
    pub config: Config,
    pub interval: Duration,
}

pub struct FeedSyncer {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FeedSyncer {
    /// Starts syncing, unless the interval is zero.
    pub fn start(store_path: PathBuf, settings: FeedSettings) -> Result<Option<Self>> {
        if settings.interval.is_zero() {
            return Ok(None);
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("provgate-feeds".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(runtime) => runtime,
                    Err(e) => return tracing::error!("feed syncs cannot run: {e}"),
                };
                let connections = feeds::Connections::default();
                loop {
                    if let Err(e) = sync_all(&runtime, &store_path, &settings.config, &connections) {
                        tracing::error!("syncing trust feeds: {e:#}");
                    }
                    match stopped.recv_timeout(settings.interval) {
                        Err(RecvTimeoutError::Timeout) => continue,
                        _ => break,
                    }
                }
            })
            .context("starting the feed syncer")?;
        Ok(Some(Self { stop: Some(stop), thread: Some(thread) }))
    }

    /// Stops after the sync under way, if any.
    pub fn finish(&mut self) {
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn sync_all(
    runtime: &tokio::runtime::Runtime,
    store_path: &std::path::Path,
    config: &Config,
    connections: &feeds::Connections,
) -> Result<()> {
    let mut store = Store::open(store_path)?;
    let records = feeds::followed(&store, config)?;
    if records.is_empty() {
        return Ok(());
    }
    let registries = provgate_oci::RegistryConfig::load(config.registry_config.as_deref())?;
    let run = feeds::SyncRun { config, registries: &registries, connections, refetch: false, actor: "provgate-daemon" };
    for record in records {
        let outcome = runtime.block_on(feeds::sync(&mut store, &run, &record))?;
        tracing::info!(feed = %record.reference, outcome = %serde_json::to_string(&outcome).unwrap_or_default(), "feed synced");
    }
    Ok(())
}
