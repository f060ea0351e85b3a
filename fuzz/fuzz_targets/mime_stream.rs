//! Any bytes as an e-mail, split as they arrive in chunks of a size the
//! input picks: the pieces are well formed (body only inside a leaf), the
//! splitter holds no more than its bounds between chunks, and where both
//! readings succeed they find the same files, never a panic.
#![no_main]

use intake_inspect::{Kind, MimeLimits, Piece, Splitter, StreamLimits, unpack, unpack_streamed};
use libfuzzer_sys::fuzz_target;

const LIMITS: StreamLimits = StreamLimits {
    mime: MimeLimits {
        max_parts: 200,
        max_depth: 10,
    },
    max_header_bytes: 16 * 1024,
    max_preamble_bytes: 16 * 1024,
};

fuzz_target!(|data: &[u8]| {
    let Some((&first, raw)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(first % 64) + 1;
    let mut splitter = Splitter::new(LIMITS);
    let mut in_leaf = false;
    let mut check = |pieces: Vec<Piece>| {
        for piece in pieces {
            match piece {
                Piece::Part(head) => {
                    assert!(!in_leaf);
                    in_leaf = head.kind == Kind::Leaf;
                }
                Piece::Body(_) => assert!(in_leaf),
                Piece::End => {
                    assert!(in_leaf);
                    in_leaf = false;
                }
            }
        }
    };
    for bytes in raw.chunks(chunk) {
        match splitter.feed(bytes) {
            Ok(pieces) => check(pieces),
            Err(_) => return,
        }
        // Bounds: a header block or preamble, a possible delimiter line,
        // a quoted-printable line, and one chunk.
        assert!(
            splitter.held()
                <= LIMITS.max_header_bytes + 1004 + intake_inspect::MAX_QP_LINE + chunk
        );
    }
    if let Ok(pieces) = splitter.finish() {
        check(pieces);
    }
    if let (Ok(whole), Ok(streamed)) = (unpack(raw, LIMITS.mime), unpack_streamed(raw, LIMITS, chunk)) {
        // Parts that unpack reads empty (a multipart without delimiters)
        // may have bytes here; every file unpack found non-empty is here too.
        for file in whole.files.iter().filter(|f| !f.bytes.is_empty()) {
            assert!(
                streamed.files.iter().any(|s| s.bytes == file.bytes),
                "a file unpack found is missing from the streamed reading"
            );
        }
    }
});
