//! Layers from the registry into [`crate::layer::read_layer`]: each blob streams from an
//! asynchronous request into a blocking thread that decompresses and hashes it, several layers
//! at once (one per core), and the results apply in manifest order.
use std::{
    io::{self, Read},
    sync::{Arc, atomic::AtomicU64},
    time::Instant,
};

use bytes::Bytes;
use futures_util::{StreamExt as _, TryStreamExt as _, stream};
use tokio::sync::mpsc;

use crate::{
    client::{Repository, chain},
    layer::{ImageFiles, LayerChanges, LayerError, LayerStats, read_layer},
    limits::Limits,
    manifest::Descriptor,
};

/// Chunks in flight between the request and the reader of one layer (reqwest's chunks are a
/// few to a few hundred kilobytes).
const CHANNEL_CHUNKS: usize = 32;

/// What reading the layers found.
pub struct Layers {
    pub files: ImageFiles,
    pub stats: LayerStats,
    pub seconds: f64,
}

/// Reads `layers` of the repository's image, `concurrency` at a time. The first failure stops
/// everything; it comes back with the index of its layer.
pub async fn read_layers(
    repository: &Repository,
    layers: &[Descriptor],
    limits: Limits,
    concurrency: usize,
) -> Result<Layers, (usize, LayerError)> {
    let started = Instant::now();
    let total = Arc::new(AtomicU64::new(0));
    let results: Vec<(LayerChanges, LayerStats)> = stream::iter(layers.iter().enumerate())
        .map(|(index, descriptor)| {
            let total = total.clone();
            async move { read_one(repository, descriptor, limits, total).await.map_err(|e| (index, e)) }
        })
        .buffered(concurrency.max(1))
        .try_collect()
        .await?;
    let mut files = ImageFiles::default();
    let mut stats = LayerStats::default();
    for (index, (changes, layer_stats)) in results.into_iter().enumerate() {
        files.apply(changes).map_err(|e| (index, e))?;
        stats += layer_stats;
    }
    Ok(Layers { files, stats, seconds: started.elapsed().as_secs_f64() })
}

async fn read_one(
    repository: &Repository,
    descriptor: &Descriptor,
    limits: Limits,
    total: Arc<AtomicU64>,
) -> Result<(LayerChanges, LayerStats), LayerError> {
    // Refused before anything is downloaded.
    if crate::layer::compression_of(&descriptor.media_type).is_none() {
        return Err(LayerError::MediaType(descriptor.media_type.clone()));
    }
    if descriptor.size() > limits.max_layer_bytes {
        return Err(LayerError::TooLarge { declared: descriptor.size(), max: limits.max_layer_bytes });
    }
    let mut response = repository.blob_stream(descriptor).await.map_err(|e| LayerError::Transport(e.to_string()))?;
    let (sender, receiver) = mpsc::channel::<Result<Bytes, String>>(CHANNEL_CHUNKS);
    let worker_descriptor = descriptor.clone();
    let worker = tokio::task::spawn_blocking(move || {
        read_layer(ChannelReader { receiver, chunk: Bytes::new() }, &worker_descriptor, &limits, &total)
    });
    loop {
        let item = match response.chunk().await {
            Ok(Some(chunk)) => Ok(chunk),
            Ok(None) => break,
            Err(e) => Err(chain(&e)),
        };
        let failed = item.is_err();
        // The reader stopped (it refused the layer): no need to download the rest.
        if sender.send(item).await.is_err() || failed {
            break;
        }
    }
    drop(sender);
    worker.await.map_err(|e| LayerError::Transport(format!("the layer reader stopped: {e}")))?
}

/// The blocking side of the channel, as a `Read`.
struct ChannelReader {
    receiver: mpsc::Receiver<Result<Bytes, String>>,
    chunk: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.receiver.blocking_recv() {
                Some(Ok(chunk)) => self.chunk = chunk,
                Some(Err(e)) => return Err(io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}
