//! The pieces of a split message gathered into what `unpack` gives: the
//! same texts, files and facts, part for part. Files are held here; a
//! caller that must not hold them takes the pieces itself.

use crate::mime::{MimeError, Unpacked, enclosed_message_id, leaf, root_facts};
use crate::mime_stream::{Kind, PartHead, Piece, Splitter, StreamLimits};

/// What the header blocks of a split message say, part by part: the
/// root's facts (and whether it is encrypted for someone else, after which
/// nothing more is read), a forwarded message's own id, and which parts are
/// leaves to read. Whoever reads the leaves' bodies adds their texts and
/// facts to `facts_mut`.
#[derive(Default)]
pub struct PartWalk {
    facts: Unpacked,
    started: bool,
    /// The next part is a forwarded message's own header block.
    enclosed_next: bool,
}

impl PartWalk {
    /// A part's header block: the head back when it is a leaf to read.
    pub fn part(&mut self, head: PartHead) -> Option<PartHead> {
        if !self.started {
            self.started = true;
            self.facts = root_facts(&head.headers(), &head.content_type);
        }
        if self.sealed_away() {
            return None;
        }
        if std::mem::take(&mut self.enclosed_next) {
            enclosed_message_id(&head.headers(), &mut self.facts);
        }
        match head.kind {
            Kind::Container => None,
            Kind::Message => {
                self.enclosed_next = true;
                None
            }
            Kind::Leaf => Some(head),
        }
    }

    /// The message is encrypted for someone else: its parts are not read.
    pub fn sealed_away(&self) -> bool {
        self.facts.encrypted_as.is_some()
    }

    pub fn facts_mut(&mut self) -> &mut Unpacked {
        &mut self.facts
    }

    pub fn finish(self) -> Unpacked {
        self.facts
    }
}

#[derive(Default)]
pub struct Collector {
    walk: PartWalk,
    leaf: Option<(PartHead, Vec<u8>)>,
}

impl Collector {
    pub fn take(&mut self, piece: Piece) {
        if self.walk.sealed_away() {
            return;
        }
        match piece {
            Piece::Part(head) => {
                if let Some(head) = self.walk.part(head) {
                    self.leaf = Some((head, Vec::new()));
                }
            }
            Piece::Body(bytes) => {
                if let Some((_, body)) = &mut self.leaf {
                    body.extend_from_slice(&bytes);
                }
            }
            Piece::End => {
                if let Some((head, body)) = self.leaf.take() {
                    leaf(
                        &head.content_type,
                        &head.disposition,
                        body,
                        self.walk.facts_mut(),
                    );
                }
            }
        }
    }

    pub fn finish(self) -> Unpacked {
        self.walk.finish()
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
