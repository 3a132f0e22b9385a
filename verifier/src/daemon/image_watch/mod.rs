//! Images trusted as the node pulls them (`[images] auto`): one thread follows containerd's API
//! (reconnecting when it restarts), another verifies each pulled image whose repository matches
//! a pattern through the `image add` path, pinned to the digest containerd pulled. A refusal is
//! recorded in the store (`image ls` lists it) and nothing is added.
//!
//! Trust arrives after the pull, asynchronously: a container started the instant its image
//! lands may be denied until the image is verified (seconds; a kubelet retries).
mod containerd;
mod pattern;

use std::{
    path::PathBuf,
    sync::mpsc::{self, Receiver},
    thread::JoinHandle,
    time::Duration,
};

use anyhow::{Context as _, Result};
pub use pattern::RepositoryPattern;
use provgate_oci::{Digest, ImageOptions, ImageReference, RegistryConfig};

use self::containerd::PulledImage;
use crate::{
    config::Config,
    store::Store,
    trust::{self, Circumstances, Evidence, ImageOutcome, ImageRequest, Trust},
};

/// Between reconnection attempts when containerd is not there.
const RECONNECT: Duration = Duration::from_secs(2);

#[derive(Clone, Debug)]
pub struct ImageWatchSettings {
    pub patterns: Vec<RepositoryPattern>,
    pub socket: PathBuf,
    /// For the trust policy, the trusted root and the registry credentials.
    pub config: Config,
}

pub struct ImageWatcher {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    threads: Vec<JoinHandle<()>>,
}

impl ImageWatcher {
    /// Starts following containerd, unless no pattern is configured.
    pub fn start(store_path: PathBuf, settings: ImageWatchSettings) -> Result<Option<Self>> {
        if settings.patterns.is_empty() {
            return Ok(None);
        }
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (pulled, images) = mpsc::channel::<PulledImage>();
        let socket = settings.socket.clone();
        let follower = std::thread::Builder::new()
            .name("provgate-containerd".into())
            .spawn(move || follow_forever(&socket, pulled, stopped))
            .context("starting the containerd follower")?;
        let verifier = std::thread::Builder::new()
            .name("provgate-images".into())
            .spawn(move || verify_pulled(&store_path, &settings, images))
            .context("starting the image verifier")?;
        Ok(Some(Self { stop: Some(stop), threads: vec![follower, verifier] }))
    }

    /// Stops following; an image being verified is finished first.
    pub fn finish(&mut self) {
        self.stop.take();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

fn follow_forever(
    socket: &std::path::Path,
    pulled: mpsc::Sender<PulledImage>,
    stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return tracing::error!("images cannot be followed: {e}"),
    };
    runtime.block_on(async {
        let follow = async {
            loop {
                let result = containerd::follow(socket, |image| pulled.send(image).is_ok()).await;
                match result {
                    Ok(()) => tracing::warn!("containerd closed its event stream; reconnecting"),
                    Err(e) => tracing::warn!("{e}; retrying in {}s", RECONNECT.as_secs()),
                }
                tokio::time::sleep(RECONNECT).await;
            }
        };
        tokio::select! {
            _ = stopped => {}
            _ = follow => {}
        }
    });
}

fn verify_pulled(store_path: &std::path::Path, settings: &ImageWatchSettings, images: Receiver<PulledImage>) {
    let mut store = match Store::open(store_path) {
        Ok(store) => store,
        Err(e) => return tracing::error!("images pulled cannot be trusted: {e}"),
    };
    // Each image once per run: containerd's listings repeat what was seen.
    let mut seen = std::collections::HashSet::new();
    for image in images {
        if !seen.insert((image.name.clone(), image.digest.clone())) {
            continue;
        }
        if let Err(e) = trust_pulled(&mut store, settings, &image) {
            tracing::error!(image = image.name, "trusting a pulled image: {e:#}");
        }
    }
}

fn trust_pulled(store: &mut Store, settings: &ImageWatchSettings, image: &PulledImage) -> Result<()> {
    let Ok(named) = image.name.parse::<ImageReference>() else {
        tracing::debug!(image = image.name, "not an image reference; ignored");
        return Ok(());
    };
    if !settings.patterns.iter().any(|p| p.matches(&named.name())) {
        tracing::debug!(image = image.name, "no [images] auto pattern matches; ignored");
        return Ok(());
    }
    let reference = match image.digest.parse::<Digest>() {
        Ok(digest) => named.pinned(digest),
        Err(_) => return record(store, &named.to_string(), "containerd named no sha256 target digest"),
    };
    let pinned = reference.to_string();
    let config = &settings.config;
    let trust = match Trust::load(config, None, None) {
        Ok(trust) => trust,
        Err(e) => return record(store, &pinned, &format!("{e:#}")),
    };
    let registries = RegistryConfig::load(config.registry_config.as_deref())?;
    let options = ImageOptions::default();
    let request = ImageRequest { reference: &reference, options: &options, registries: &registries };
    let verified = match trust::verify_image(store, &trust, request)? {
        Ok(ImageOutcome::Verified(verified)) => verified,
        Ok(ImageOutcome::AlreadyTrusted { source, .. }) => {
            tracing::debug!(image = pinned, source, "already trusted");
            return Ok(());
        }
        Err(refusal) => return record(store, &pinned, &refusal.0),
    };
    let reason = format!("pulled by containerd (namespace {}) as {}", image.namespace, image.name);
    let circumstances = Circumstances { trust: Some(&trust), forbid_unsigned: true, reason: Some(reason) };
    match trust::accept(store, Evidence::Image(verified), circumstances)? {
        Ok(committed) => {
            store.forget_image_refusal(&pinned)?;
            tracing::info!(image = pinned, source = committed.id, records = committed.records, "pulled image trusted");
        }
        Err(refusal) => record(store, &pinned, &refusal.0)?,
    }
    Ok(())
}

fn record(store: &mut Store, reference: &str, problem: &str) -> Result<()> {
    tracing::warn!(image = reference, "pulled image NOT trusted: {problem}");
    Ok(store.record_image_refusal(reference, problem)?)
}
