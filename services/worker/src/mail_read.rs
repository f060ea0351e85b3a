//! An e-mail read as it is decrypted, part by part, without holding it:
//! the decrypted stream goes through the MIME splitter, texts are kept
//! (up to a bound), and each file is hashed and sniffed on the way, held
//! whole when small enough for deep inspection, else sealed into S3 as it
//! streams (and scanned from there). What one mail holds is bounded by
//! the inspection budget, not by the size of the mail.
//!
//! The whole message is checked against its event (size and digest) only
//! at its end: files handed out before that must be dropped if it fails.

use std::collections::VecDeque;
use std::io;

use bytes::Bytes;
use intake_core::events::ObjectRef;
use sha2::{Digest as _, Sha256};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::task::AbortOnDropHandle;

use crate::content::{Content, ContentError, Plain, slices};
use crate::inspect::{
    self, HEAD_BYTES, LeafRole, MimeError, PartWalk, Piece, Splitter, StreamLimits, Unpacked,
    ZIP_TAIL_BYTES, tail_of,
};

/// The text bodies of one mail, together, are read up to this many bytes
/// (decoded, they may take three times as many); a text body that goes
/// past it is read as a file instead, so many text parts cannot add up.
pub const MAX_MAIL_TEXT: usize = 1 << 20;
/// The first bytes of a report kept for what it says.
const MAX_FACTS_BYTES: usize = 64 * 1024;
/// Chunks in flight to a file being sealed into S3.
const UPLOAD_QUEUE: usize = 4;
/// Bytes split between yields to the runtime.
const SPLIT_SLICE: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Content(#[from] ContentError),
    #[error(transparent)]
    Mime(#[from] MimeError),
    #[error("e-mail larger than {limit} bytes")]
    TooLarge { limit: u64 },
}

/// A file found in the mail, read through.
pub struct MailPart {
    pub ordinal: u32,
    pub filename: String,
    pub declared_type: String,
    /// Digest, head and tail; the bytes when small enough to inspect.
    pub plain: Plain,
    /// Where it was sealed while it streamed, when too large to hold.
    pub stored: Option<ObjectRef>,
}

/// Where files too large to hold are sealed while they stream.
pub struct Spill {
    pub content: Content,
    pub bucket: String,
    /// The key of the file with the ordinal given.
    pub key: Box<dyn Fn(u32) -> String + Send + Sync>,
}

pub struct MailReader {
    chunks: mpsc::Receiver<io::Result<Bytes>>,
    expected: ObjectRef,
    max_mail_bytes: u64,
    keep_up_to: u64,
    spill: Spill,
    splitter: Option<Splitter>,
    pending: VecDeque<Piece>,
    hasher: Sha256,
    size: u64,
    walk: PartWalk,
    current: Option<Current>,
    files: u32,
    /// Raw bytes of the text bodies read so far.
    text_bytes: usize,
}

enum Current {
    Text {
        role: LeafRole,
        charset: String,
        bytes: Vec<u8>,
        head: Box<inspect::PartHead>,
    },
    File(Box<FileSink>),
}

impl MailReader {
    pub fn new(
        chunks: mpsc::Receiver<io::Result<Bytes>>,
        expected: ObjectRef,
        limits: StreamLimits,
        max_mail_bytes: u64,
        keep_up_to: u64,
        spill: Spill,
    ) -> Self {
        Self {
            chunks,
            expected,
            max_mail_bytes,
            keep_up_to,
            spill,
            splitter: Some(Splitter::new(limits)),
            pending: VecDeque::new(),
            hasher: Sha256::new(),
            size: 0,
            walk: PartWalk::default(),
            current: None,
            files: 0,
            text_bytes: 0,
        }
    }

    /// The next file, read through; `None` at the end of the message
    /// (checked against its event) or once it is known to be encrypted
    /// for someone else.
    pub async fn next_file(&mut self) -> Result<Option<MailPart>, ReadError> {
        loop {
            while let Some(piece) = self.pending.pop_front() {
                if let Some(part) = self.take(piece).await? {
                    return Ok(Some(part));
                }
                if self.walk.sealed_away() {
                    return Ok(None);
                }
            }
            let Some(splitter) = self.splitter.as_mut() else {
                return Ok(None);
            };
            match self.chunks.recv().await {
                Some(chunk) => {
                    let chunk = chunk.map_err(ContentError::Read)?;
                    self.hasher.update(&chunk);
                    self.size += chunk.len() as u64;
                    if self.size > self.max_mail_bytes {
                        return Err(ReadError::TooLarge {
                            limit: self.max_mail_bytes,
                        });
                    }
                    // A slice at a time, letting other tasks run between:
                    // a message of short lines is CPU work.
                    for slice in chunk.chunks(SPLIT_SLICE) {
                        self.pending.extend(splitter.feed(slice)?);
                        tokio::task::yield_now().await;
                    }
                }
                None => {
                    self.verify()?;
                    if let Some(splitter) = self.splitter.take() {
                        self.pending.extend(splitter.finish()?);
                    }
                }
            }
        }
    }

    /// The texts and facts, once `next_file` has said the end.
    pub fn finish(self) -> Unpacked {
        self.walk.finish()
    }

    fn verify(&self) -> Result<(), ContentError> {
        let sha256 = hex::encode(self.hasher.clone().finalize());
        if self.size != self.expected.size || sha256 != self.expected.sha256 {
            return Err(ContentError::Mismatch(format!(
                "{} has {} bytes / {}, the event says {} / {}",
                self.expected.key, self.size, sha256, self.expected.size, self.expected.sha256
            )));
        }
        Ok(())
    }

    async fn take(&mut self, piece: Piece) -> Result<Option<MailPart>, ReadError> {
        match piece {
            Piece::Part(head) => {
                if let Some(head) = self.walk.part(head) {
                    self.begin_leaf(head);
                }
                Ok(None)
            }
            Piece::Body(bytes) => {
                self.body(bytes).await?;
                Ok(None)
            }
            Piece::End => self.end_leaf().await,
        }
    }

    fn begin_leaf(&mut self, head: inspect::PartHead) {
        let role = match inspect::leaf_role(&head.content_type, &head.disposition) {
            LeafRole::Text | LeafRole::Html if self.text_bytes >= MAX_MAIL_TEXT => {
                LeafRole::File { filename: None }
            }
            role => role,
        };
        self.current = Some(match role {
            LeafRole::File { filename } => Current::File(Box::new(self.file_sink(&head, filename))),
            role => Current::Text {
                role,
                charset: head.content_type.charset.clone(),
                bytes: Vec::new(),
                head: Box::new(head),
            },
        });
    }

    fn file_sink(&mut self, head: &inspect::PartHead, filename: Option<String>) -> FileSink {
        let ordinal = self.files;
        self.files += 1;
        FileSink::new(
            ordinal,
            filename.unwrap_or_else(|| inspect::unnamed_file(ordinal as usize)),
            head.content_type.mimetype.to_lowercase(),
            inspect::has_facts(&head.content_type.mimetype),
        )
    }

    async fn body(&mut self, bytes: Vec<u8>) -> Result<(), ReadError> {
        let text_too_large = match &mut self.current {
            Some(Current::Text { bytes: held, .. }) => {
                held.extend_from_slice(&bytes);
                self.text_bytes + held.len() > MAX_MAIL_TEXT
            }
            Some(Current::File(sink)) => {
                sink.push(&bytes, self.keep_up_to, &self.spill).await?;
                false
            }
            None => false,
        };
        if text_too_large {
            // Read as a file: scanned, inspected and stored like one.
            if let Some(Current::Text { bytes, head, .. }) = self.current.take() {
                let mut sink = self.file_sink(&head, None);
                sink.push(&bytes, self.keep_up_to, &self.spill).await?;
                self.current = Some(Current::File(Box::new(sink)));
            }
        }
        Ok(())
    }

    async fn end_leaf(&mut self) -> Result<Option<MailPart>, ReadError> {
        match self.current.take() {
            Some(Current::Text {
                role,
                charset,
                bytes,
                ..
            }) => {
                self.text_bytes += bytes.len();
                inspect::add_text(&role, &charset, &bytes, self.walk.facts_mut());
                Ok(None)
            }
            Some(Current::File(sink)) => {
                let (part, facts) = sink.finish().await?;
                if let Some(bytes) = facts {
                    inspect::leaf_facts(&part.declared_type, &bytes, self.walk.facts_mut());
                }
                Ok(Some(part))
            }
            None => Ok(None),
        }
    }
}

/// One file part on its way through: counted, hashed, its head and tail
/// kept, held while small, sealed into S3 once it is not.
struct FileSink {
    ordinal: u32,
    filename: String,
    declared_type: String,
    hasher: Sha256,
    size: u64,
    head: Vec<u8>,
    tail: Vec<u8>,
    held: Option<Vec<u8>>,
    upload: Option<Upload>,
    /// A report's first bytes, for what it says.
    facts: Option<Vec<u8>>,
}

struct Upload {
    /// Aborted when dropped, and dropped before `sender` (fields drop in
    /// order): a mail given up part way leaves no upload running, and the
    /// closed channel cannot complete a truncated object first. S3 keeps
    /// the aborted upload's parts until the bucket's lifecycle rule for
    /// incomplete uploads removes them.
    task: AbortOnDropHandle<Result<ObjectRef, ContentError>>,
    sender: mpsc::Sender<io::Result<Bytes>>,
}

impl FileSink {
    fn new(ordinal: u32, filename: String, declared_type: String, has_facts: bool) -> Self {
        Self {
            ordinal,
            filename,
            declared_type,
            hasher: Sha256::new(),
            size: 0,
            head: Vec::new(),
            tail: Vec::new(),
            held: Some(Vec::new()),
            upload: None,
            facts: has_facts.then(Vec::new),
        }
    }

    async fn push(
        &mut self,
        bytes: &[u8],
        keep_up_to: u64,
        spill: &Spill,
    ) -> Result<(), ReadError> {
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
        if self.head.len() < HEAD_BYTES {
            self.head
                .extend_from_slice(&bytes[..bytes.len().min(HEAD_BYTES - self.head.len())]);
        }
        self.tail.extend_from_slice(tail_of(bytes));
        if self.tail.len() > ZIP_TAIL_BYTES {
            self.tail.drain(..self.tail.len() - ZIP_TAIL_BYTES);
        }
        if let Some(kept) = self.facts.as_mut()
            && kept.len() < MAX_FACTS_BYTES
        {
            kept.extend_from_slice(&bytes[..bytes.len().min(MAX_FACTS_BYTES - kept.len())]);
        }
        if let Some(held) = self.held.as_mut() {
            if self.size <= keep_up_to {
                held.extend_from_slice(bytes);
                return Ok(());
            }
            // Too large to hold: what was held goes first.
            let held = self.held.take().unwrap_or_default();
            let upload = self.upload.insert(Upload::start(spill, self.ordinal));
            for slice in slices(Bytes::from(held)) {
                upload.send(slice).await?;
            }
        }
        if let Some(upload) = self.upload.as_mut() {
            upload.send(Bytes::copy_from_slice(bytes)).await?;
        }
        Ok(())
    }

    async fn finish(self) -> Result<(MailPart, Option<Vec<u8>>), ReadError> {
        let stored = match self.upload {
            Some(upload) => Some(upload.finish().await?),
            None => None,
        };
        let part = MailPart {
            ordinal: self.ordinal,
            filename: self.filename,
            declared_type: self.declared_type,
            plain: Plain {
                size: self.size,
                sha256: hex::encode(self.hasher.finalize()),
                head: self.head,
                tail: self.tail,
                whole: self.held.map(Bytes::from),
            },
            stored,
        };
        Ok((part, self.facts))
    }
}

impl Upload {
    fn start(spill: &Spill, ordinal: u32) -> Self {
        let (sender, receiver) = mpsc::channel(UPLOAD_QUEUE);
        let content = spill.content.clone();
        let bucket = spill.bucket.clone();
        let key = (spill.key)(ordinal);
        let task = AbortOnDropHandle::new(tokio::spawn(async move {
            content
                .seal_and_put_stream(&bucket, &key, ReceiverStream::new(receiver))
                .await
        }));
        Self { task, sender }
    }

    async fn send(&mut self, bytes: Bytes) -> Result<(), ReadError> {
        if self.sender.send(Ok(bytes)).await.is_err() {
            // The upload ended early: its own error says why.
            return Err(self.failure().await.into());
        }
        Ok(())
    }

    async fn failure(&mut self) -> ContentError {
        match (&mut self.task).await {
            Ok(Err(error)) => error,
            Ok(Ok(_)) => ContentError::Read(io::Error::other("the upload ended before its file")),
            Err(joined) => ContentError::Read(io::Error::other(joined)),
        }
    }

    async fn finish(self) -> Result<ObjectRef, ContentError> {
        drop(self.sender);
        self.task
            .await
            .map_err(|e| ContentError::Read(io::Error::other(e)))?
    }
}
