//! The object store client: buckets, streaming put and get, delete.

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::BytesMut;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::config::{MIN_PART_SIZE, S3Config};

#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    #[error("invalid S3 configuration: {0}")]
    Config(String),
    #[error("S3 {op} of {bucket}/{key} failed: {detail}")]
    Request {
        op: &'static str,
        bucket: String,
        key: String,
        /// Service error code, e.g. `NoSuchKey`, when the server sent one.
        code: Option<String>,
        detail: String,
    },
    #[error("reading the body for {bucket}/{key} failed")]
    Body {
        bucket: String,
        key: String,
        #[source]
        source: std::io::Error,
    },
}

impl S3Error {
    fn request<E>(
        op: &'static str,
        bucket: &str,
        key: &str,
        err: aws_sdk_s3::error::SdkError<E>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        Self::Request {
            op,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            code: err.code().map(str::to_owned),
            detail: DisplayErrorContext(&err).to_string(),
        }
    }

    /// Whether the object or bucket does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Request { code: Some(c), .. } if c == "NoSuchKey" || c == "NoSuchBucket" || c == "NotFound")
    }
}

/// What an upload stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub size: u64,
    /// Lower-case hex SHA-256 of the bytes stored.
    pub sha256: String,
}

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    /// When it was written, if the server said.
    pub last_modified: Option<chrono::DateTime<chrono::Utc>>,
}

/// Size and hash of what has been read so far.
#[derive(Default)]
struct Tally {
    hasher: Sha256,
    size: u64,
}

impl Tally {
    fn add(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
    }

    fn stored(self) -> Stored {
        Stored {
            size: self.size,
            sha256: hex::encode(self.hasher.finalize()),
        }
    }
}

#[derive(Clone)]
pub struct ObjectStore {
    client: Client,
    part_size: usize,
}

impl ObjectStore {
    pub async fn connect(config: &S3Config) -> Result<Self, S3Error> {
        if config.part_size < MIN_PART_SIZE {
            return Err(S3Error::Config(format!(
                "part_size {} is below the S3 minimum of {MIN_PART_SIZE} bytes",
                config.part_size
            )));
        }
        let shared = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .load()
            .await;
        let mut builder =
            aws_sdk_s3::config::Builder::from(&shared).force_path_style(config.force_path_style);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        match (&config.access_key_id, &config.secret_access_key) {
            (Some(id), Some(secret)) => {
                builder = builder.credentials_provider(Credentials::new(
                    id,
                    secret.expose_secret(),
                    None,
                    None,
                    "intake-config",
                ));
            }
            (None, None) => {}
            _ => {
                return Err(S3Error::Config(
                    "set both access_key_id and secret_access_key, or neither".into(),
                ));
            }
        }
        Ok(Self {
            client: Client::from_conf(builder.build()),
            part_size: config.part_size,
        })
    }

    /// Whether the server answers for `bucket` (a readiness probe).
    pub async fn head_bucket(&self, bucket: &str) -> Result<(), S3Error> {
        self.client
            .head_bucket()
            .bucket(bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|err| S3Error::request("HeadBucket", bucket, "", err))
    }

    /// Creates the bucket unless it already exists.
    pub async fn ensure_bucket(&self, bucket: &str) -> Result<(), S3Error> {
        match self.client.create_bucket().bucket(bucket).send().await {
            Ok(_) => Ok(()),
            Err(err)
                if err.as_service_error().is_some_and(|e| {
                    e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists()
                }) =>
            {
                Ok(())
            }
            Err(err) => Err(S3Error::request("CreateBucket", bucket, "", err)),
        }
    }

    /// Streams `body` into `bucket/key`, one part in memory at a time, and
    /// returns its size and SHA-256. A failed upload is aborted, so no
    /// partial object or orphaned parts stay behind.
    pub async fn put_stream(
        &self,
        bucket: &str,
        key: &str,
        mut body: impl AsyncRead + Unpin,
    ) -> Result<Stored, S3Error> {
        let mut tally = Tally::default();
        let first = self.read_part(bucket, key, &mut body).await?;
        tally.add(&first);
        if first.len() < self.part_size {
            self.client
                .put_object()
                .bucket(bucket)
                .key(key)
                .body(ByteStream::from(first.freeze()))
                .send()
                .await
                .map_err(|e| S3Error::request("PutObject", bucket, key, e))?;
            return Ok(tally.stored());
        }
        let upload = self
            .client
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| S3Error::request("CreateMultipartUpload", bucket, key, e))?;
        let upload_id = upload.upload_id().unwrap_or_default().to_owned();
        let result = self
            .upload_parts(bucket, key, &upload_id, first, &mut body, &mut tally)
            .await;
        match result {
            Ok(parts) => {
                self.client
                    .complete_multipart_upload()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .multipart_upload(
                        CompletedMultipartUpload::builder()
                            .set_parts(Some(parts))
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(|e| S3Error::request("CompleteMultipartUpload", bucket, key, e))?;
                Ok(tally.stored())
            }
            Err(err) => {
                if let Err(abort) = self
                    .client
                    .abort_multipart_upload()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .send()
                    .await
                {
                    tracing::warn!(bucket, key, error = %DisplayErrorContext(&abort), "aborting a failed multipart upload failed");
                }
                Err(err)
            }
        }
    }

    async fn upload_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        first: BytesMut,
        body: &mut (impl AsyncRead + Unpin),
        tally: &mut Tally,
    ) -> Result<Vec<CompletedPart>, S3Error> {
        let mut parts = Vec::new();
        let mut chunk = first;
        loop {
            let number = parts.len() as i32 + 1;
            let response = self
                .client
                .upload_part()
                .bucket(bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(number)
                .body(ByteStream::from(chunk.freeze()))
                .send()
                .await
                .map_err(|e| S3Error::request("UploadPart", bucket, key, e))?;
            parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(response.e_tag().map(str::to_owned))
                    .set_checksum_crc32(response.checksum_crc32().map(str::to_owned))
                    .build(),
            );
            chunk = self.read_part(bucket, key, body).await?;
            if chunk.is_empty() {
                return Ok(parts);
            }
            tally.add(&chunk);
        }
    }

    /// Reads up to one part: full unless the body ends first.
    async fn read_part(
        &self,
        bucket: &str,
        key: &str,
        body: &mut (impl AsyncRead + Unpin),
    ) -> Result<BytesMut, S3Error> {
        let mut buf = BytesMut::with_capacity(self.part_size);
        while buf.len() < self.part_size {
            let limit = (self.part_size - buf.len()) as u64;
            let read = (&mut *body)
                .take(limit)
                .read_buf(&mut buf)
                .await
                .map_err(|source| S3Error::Body {
                    bucket: bucket.to_owned(),
                    key: key.to_owned(),
                    source,
                })?;
            if read == 0 {
                break;
            }
        }
        Ok(buf)
    }

    /// The object's bytes as a stream.
    pub async fn get_stream(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<impl AsyncRead + Send + Unpin + use<>, S3Error> {
        let object = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| S3Error::request("GetObject", bucket, key, e))?;
        Ok(object.body.into_async_read())
    }

    /// Size in bytes, or `None` if there is no such object.
    pub async fn size(&self, bucket: &str, key: &str) -> Result<Option<u64>, S3Error> {
        match self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(head) => Ok(Some(head.content_length().unwrap_or_default().max(0) as u64)),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(err) => Err(S3Error::request("HeadObject", bucket, key, err)),
        }
    }

    /// Keys under `prefix`, all pages.
    pub async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, S3Error> {
        Ok(self
            .list_objects(bucket, prefix)
            .await?
            .into_iter()
            .map(|o| o.key)
            .collect())
    }

    /// Objects under `prefix` with when each was written, all pages.
    pub async fn list_objects(&self, bucket: &str, prefix: &str) -> Result<Vec<Listed>, S3Error> {
        let mut objects = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| S3Error::request("ListObjectsV2", bucket, prefix, e))?;
            objects.extend(page.contents().iter().filter_map(|o| {
                Some(Listed {
                    key: o.key()?.to_owned(),
                    last_modified: o
                        .last_modified()
                        .and_then(|t| chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos())),
                })
            }));
        }
        Ok(objects)
    }

    /// Copies an object by streaming it through this process (one part in
    /// memory at a time), which works on every S3 implementation and
    /// across buckets with different owners.
    pub async fn copy(
        &self,
        from_bucket: &str,
        from_key: &str,
        to_bucket: &str,
        to_key: &str,
    ) -> Result<Stored, S3Error> {
        let body = self.get_stream(from_bucket, from_key).await?;
        self.put_stream(to_bucket, to_key, body).await
    }

    pub async fn delete(&self, bucket: &str, key: &str) -> Result<(), S3Error> {
        self.client
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| S3Error::request("DeleteObject", bucket, key, e))?;
        Ok(())
    }
}
