//! Objects through the real S3 API server: a 50 MB object streamed in and
//! out with matching SHA-256, and an upload that fails midway leaving
//! nothing behind.

use std::io;

use bytes::Bytes;
use futures::{Stream, StreamExt, stream};
use intake_tests::Stack;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use tokio_util::io::StreamReader;

const MIB: usize = 1024 * 1024;

/// `chunks` MiB of seeded random bytes, generated as they are read.
fn generated(seed: u64, chunks: usize) -> impl Stream<Item = io::Result<Bytes>> {
    let mut rng = StdRng::seed_from_u64(seed);
    stream::iter(0..chunks).map(move |_| {
        let mut chunk = vec![0u8; MIB];
        rng.fill_bytes(&mut chunk);
        Ok(Bytes::from(chunk))
    })
}

async fn sha256_of(stream: impl Stream<Item = io::Result<Bytes>>) -> String {
    let mut hasher = Sha256::new();
    futures::pin_mut!(stream);
    while let Some(chunk) = stream.next().await {
        hasher.update(chunk.expect("generated"));
    }
    hex::encode(hasher.finalize())
}

#[tokio::test]
async fn a_50_mb_object_streams_in_and_out_intact() {
    let (store, bucket) = Stack::new().bucket().await;
    let expected = sha256_of(generated(7, 50)).await;

    let stored = store
        .put_stream(
            &bucket,
            "big/object.bin",
            StreamReader::new(generated(7, 50)),
        )
        .await
        .expect("upload");
    assert_eq!(stored.size, 50 * MIB as u64);
    assert_eq!(stored.sha256, expected);
    assert_eq!(
        store.size(&bucket, "big/object.bin").await.expect("head"),
        Some(50 * MIB as u64)
    );

    let mut body = store
        .get_stream(&bucket, "big/object.bin")
        .await
        .expect("download");
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; MIB];
    let mut read_total = 0usize;
    loop {
        let n = body.read(&mut buf).await.expect("read body");
        if n == 0 {
            break;
        }
        read_total += n;
        hasher.update(&buf[..n]);
    }
    assert_eq!(read_total, 50 * MIB);
    assert_eq!(hex::encode(hasher.finalize()), expected);
}

#[tokio::test]
async fn a_body_that_fails_midway_leaves_no_object() {
    let (store, bucket) = Stack::new().bucket().await;
    // 20 MiB arrive (several multipart parts), then the client goes away.
    let broken = generated(8, 20).chain(stream::iter([Err(io::Error::new(
        io::ErrorKind::ConnectionReset,
        "client went away",
    ))]));
    let result = store
        .put_stream(&bucket, "broken.bin", StreamReader::new(broken))
        .await;
    assert!(result.is_err(), "a failed body must fail the upload");
    assert_eq!(store.size(&bucket, "broken.bin").await.expect("head"), None);
}

#[tokio::test]
async fn a_missing_object_is_reported_as_not_found() {
    let (store, bucket) = Stack::new().bucket().await;
    let err = store
        .get_stream(&bucket, "nothing-here")
        .await
        .err()
        .expect("no such object");
    assert!(err.is_not_found(), "{err}");
}
