//! Following containerd: the images it holds when we connect, then each image created or
//! updated, as (namespace, name, target digest).
use std::path::Path;

use containerd_client::{
    Client,
    services::v1::{
        GetImageRequest, ImageCreate, ImageUpdate, ListImagesRequest, ListNamespacesRequest, SubscribeRequest,
    },
    tonic::Request,
    types::Envelope,
    with_namespace,
};
use futures_util::StreamExt as _;
use prost::Message as _;

/// An image containerd holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PulledImage {
    pub namespace: String,
    /// As containerd names it: `registry/repository:tag`.
    pub name: String,
    /// The digest of its target (an index or a manifest).
    pub digest: String,
}

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("connecting to containerd at {socket}: {source}")]
    Connect { socket: String, source: containerd_client::tonic::transport::Error },
    #[error("containerd: {0}")]
    Status(#[from] containerd_client::tonic::Status),
}

/// How often the images containerd holds are listed again: containerd answers a subscription
/// only when its first event comes, so an image pulled while the subscription was being set up
/// is caught by the next listing.
const RELIST: std::time::Duration = std::time::Duration::from_secs(60);

/// Sends every image containerd holds, then every image it creates or updates (and, every
/// [`RELIST`], every image again), until the connection ends (an error) or `send` says to stop
/// (`false`). The receiver ignores images it has seen.
pub async fn follow(socket: &Path, mut send: impl FnMut(PulledImage) -> bool) -> Result<(), WatchError> {
    let client = Client::from_path(socket)
        .await
        .map_err(|source| WatchError::Connect { socket: socket.display().to_string(), source })?;
    let filters = vec![r#"topic=="/images/create""#.to_owned(), r#"topic=="/images/update""#.to_owned()];
    let mut subscriber = client.events();
    let subscription = tokio::spawn(async move { subscriber.subscribe(SubscribeRequest { filters }).await });
    tracing::info!(socket = %socket.display(), "following containerd's images");
    let mut relist = tokio::time::interval(RELIST);
    let mut events: Option<containerd_client::tonic::Streaming<Envelope>> = None;
    let mut subscription = Some(subscription);
    loop {
        tokio::select! {
            _ = relist.tick() => {
                for image in list(&client).await? {
                    if !send(image) {
                        return Ok(());
                    }
                }
            }
            answer = async { subscription.as_mut().expect("pending").await }, if subscription.is_some() => {
                subscription = None;
                let answer = answer.map_err(|e| containerd_client::tonic::Status::internal(e.to_string()))?;
                events = Some(answer?.into_inner());
            }
            envelope = async { events.as_mut().expect("subscribed").next().await }, if events.is_some() => {
                let Some(envelope) = envelope else { return Ok(()) };
                if let Some(image) = image_of(&client, envelope?).await?
                    && !send(image)
                {
                    return Ok(());
                }
            }
        }
    }
}

async fn list(client: &Client) -> Result<Vec<PulledImage>, WatchError> {
    let mut images = Vec::new();
    let namespaces = client.namespaces().list(ListNamespacesRequest { filter: String::new() }).await?.into_inner();
    for namespace in namespaces.namespaces {
        let request = with_namespace!(ListImagesRequest { filters: Vec::new() }, namespace.name.as_str());
        for image in client.images().list(request).await?.into_inner().images {
            let digest = image.target.map(|t| t.digest).unwrap_or_default();
            images.push(PulledImage { namespace: namespace.name.clone(), name: image.name, digest });
        }
    }
    Ok(images)
}

/// The image an event is about, as containerd holds it now.
async fn image_of(client: &Client, envelope: Envelope) -> Result<Option<PulledImage>, WatchError> {
    let Some(event) = envelope.event else { return Ok(None) };
    let name = match envelope.topic.as_str() {
        "/images/create" => ImageCreate::decode(event.value.as_slice()).map(|e| e.name),
        "/images/update" => ImageUpdate::decode(event.value.as_slice()).map(|e| e.name),
        _ => return Ok(None),
    };
    let Ok(name) = name else {
        tracing::warn!(topic = envelope.topic, "an image event containerd sent could not be read");
        return Ok(None);
    };
    let request = with_namespace!(GetImageRequest { name: name.clone() }, envelope.namespace.as_str());
    let image = client.images().get(request).await?.into_inner().image;
    let digest = image.and_then(|i| i.target).map(|t| t.digest).unwrap_or_default();
    Ok(Some(PulledImage { namespace: envelope.namespace, name, digest }))
}
