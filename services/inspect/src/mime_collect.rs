//! The pieces of a split message gathered into what `unpack` gives: the
//! same texts, files and facts, part for part. Files are held here; a
//! caller that must not hold them takes the pieces itself.

use crate::mime::{MimeError, Unpacked, enclosed_message_id, leaf, root_facts};
use crate::mime_stream::{Kind, PartHead, Piece, Splitter, StreamLimits};

#[derive(Default)]
pub struct Collector {
    out: Unpacked,
    started: bool,
    /// The message is encrypted for someone else: its parts are not read.
    sealed_away: bool,
    /// The next part is a forwarded message's own header block.
    enclosed_next: bool,
    leaf: Option<(PartHead, Vec<u8>)>,
}

impl Collector {
    pub fn take(&mut self, piece: Piece) {
        if self.sealed_away {
            return;
        }
        match piece {
            Piece::Part(head) => {
                if !self.started {
                    self.started = true;
                    self.out = root_facts(&head.headers(), &head.content_type);
                    if self.out.encrypted_as.is_some() {
                        self.sealed_away = true;
                        return;
                    }
                }
                if std::mem::take(&mut self.enclosed_next) {
                    enclosed_message_id(&head.headers(), &mut self.out);
                }
                match head.kind {
                    Kind::Container => {}
                    Kind::Message => self.enclosed_next = true,
                    Kind::Leaf => self.leaf = Some((head, Vec::new())),
                }
            }
            Piece::Body(bytes) => {
                if let Some((_, body)) = &mut self.leaf {
                    body.extend_from_slice(&bytes);
                }
            }
            Piece::End => {
                if let Some((head, body)) = self.leaf.take() {
                    leaf(&head.content_type, &head.disposition, body, &mut self.out);
                }
            }
        }
    }

    pub fn finish(self) -> Unpacked {
        self.out
    }
}

/// `raw` split `chunk` bytes at a time and gathered: what `unpack` gives,
/// read the streaming way.
pub fn unpack_streamed(
    raw: &[u8],
    limits: StreamLimits,
    chunk: usize,
) -> Result<Unpacked, MimeError> {
    let mut splitter = Splitter::new(limits);
    let mut collector = Collector::default();
    for piece in raw.chunks(chunk.max(1)) {
        for piece in splitter.feed(piece)? {
            collector.take(piece);
        }
    }
    for piece in splitter.finish()? {
        collector.take(piece);
    }
    Ok(collector.finish())
}
