//! An e-mail split into its parts as its bytes arrive, without holding the
//! message: sans-IO, fed chunks of any size, giving out each part's header
//! block and its body decoded from its transfer encoding, piece by piece.
//!
//! It splits as `mailparse` does (see `unpack`), so both read a message
//! alike: a delimiter is any line that begins with `--` and a boundary of
//! an enclosing multipart, the outermost first (the outer split comes
//! first); the line break before a delimiter belongs to it; a forwarded
//! message (`message/rfc822`) is decoded and split again inside its part.
//! One difference is deliberate: a multipart whose body holds no
//! delimiter is a part of its own with that body, which `mailparse`
//! leaves empty (its bytes were never inspected).
//!
//! What it holds is bounded whatever the input: one header block (up to
//! `max_header_bytes`), one preamble (up to `max_preamble_bytes`), a line
//! that may still become a delimiter (as long as the longest boundary),
//! and a quoted-printable line (up to `MAX_QP_LINE`). Beyond a bound the
//! message is refused, never read on partly.

use std::collections::BTreeMap;

use mailparse::{MailHeaderMap, ParsedContentDisposition, ParsedContentType};

use crate::mime::{MimeError, MimeLimits};

/// Longest quoted-printable line held before decoding (RFC 2045 allows
/// 76 characters; mail clients keep to it).
pub const MAX_QP_LINE: usize = 64 * 1024;
/// Longest boundary taken from a header (RFC 2046 allows 70).
const MAX_BOUNDARY: usize = 998;
/// Decoded bytes gathered before they are given out as one piece.
const PIECE_BYTES: usize = 64 * 1024;
/// How many times over forwarded messages may read a message's bytes
/// again (a forward of a forward of a forward reads its innermost content
/// three times), and the bytes read again that are always allowed.
const NESTED_READS: u64 = 4;
const NESTED_SLACK: u64 = 1 << 20;

/// Bounds on what is held while splitting.
#[derive(Debug, Clone, Copy)]
pub struct StreamLimits {
    pub mime: MimeLimits,
    pub max_header_bytes: usize,
    pub max_preamble_bytes: usize,
}

/// What a part is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A multipart with parts: its parts follow, deeper by one.
    Container,
    /// A forwarded message: its own parts follow, the first its header
    /// block, deeper by one.
    Message,
    /// Content: `Body` pieces follow, then `End`.
    Leaf,
}

/// A part's header block, parsed.
#[derive(Debug)]
pub struct PartHead {
    /// 0 for the message itself.
    pub depth: usize,
    pub kind: Kind,
    /// The header block as it came, for the headers' values.
    pub raw: Vec<u8>,
    /// Lower-cased, with its parameters.
    pub content_type: ParsedContentType,
    pub disposition: ParsedContentDisposition,
}

impl PartHead {
    pub fn headers(&self) -> Vec<mailparse::MailHeader<'_>> {
        mailparse::parse_headers(&self.raw)
            .map(|(headers, _)| headers)
            .unwrap_or_default()
    }

    /// The file name the sender gave, if any.
    pub fn filename(&self) -> Option<&String> {
        self.disposition
            .params
            .get("filename")
            .or_else(|| self.content_type.params.get("name"))
    }
}

#[derive(Debug)]
pub enum Piece {
    Part(PartHead),
    /// Decoded bytes of the leaf begun last.
    Body(Vec<u8>),
    /// The leaf begun last is complete.
    End,
}

/// A multipart whose delimiters are being looked for.
#[derive(Debug)]
struct Frame {
    /// `--` and the boundary.
    delimiter: Vec<u8>,
    /// Depth of its parts.
    depth: usize,
    digest: bool,
}

enum State {
    /// Collecting a part's header block.
    Headers {
        block: Vec<u8>,
        depth: usize,
        digest: bool,
    },
    /// Before a multipart's first delimiter: held, since with no delimiter
    /// at all it is the part's body.
    Preamble {
        head: PartHead,
        held: Vec<u8>,
        decoder: Decoder,
    },
    /// A leaf's body.
    Body(Decoder),
    /// A forwarded message's body, decoded into a splitter of its own
    /// (in batches: fed line by line it would give a piece per line).
    Nested {
        decoder: Decoder,
        inner: Box<Splitter>,
        batch: Vec<u8>,
    },
    /// After a closing delimiter, or after an error: nothing is kept.
    Ignored,
}

pub struct Splitter {
    limits: StreamLimits,
    frames: Vec<Frame>,
    state: State,
    /// The line read so far, while it may still be a delimiter or belongs
    /// to a header block or preamble.
    line: Vec<u8>,
    /// The current line is known not to be a delimiter: its bytes went on.
    line_passed: bool,
    /// The previous body line's break, given out only once the next line
    /// is known not to be a delimiter.
    held_break: Vec<u8>,
    parts: usize,
    out: Vec<Piece>,
    body: Vec<u8>,
    failed: Option<MimeError>,
    /// Bytes fed to this splitter, and bytes fed to the splitters of the
    /// forwarded messages inside it (at every depth): each level reads its
    /// bytes again, so the second is bounded by the first.
    fed: u64,
    nested: u64,
}

impl Splitter {
    pub fn new(limits: StreamLimits) -> Self {
        Self::at(limits, 0, 0, false)
    }

    fn at(limits: StreamLimits, depth: usize, parts: usize, digest: bool) -> Self {
        Self {
            limits,
            frames: Vec::new(),
            state: State::Headers {
                block: Vec::new(),
                depth,
                digest,
            },
            line: Vec::new(),
            line_passed: false,
            held_break: Vec::new(),
            parts,
            out: Vec::new(),
            body: Vec::new(),
            failed: None,
            fed: 0,
            nested: 0,
        }
    }

    /// Splits `input`, the next bytes of the message; returns the pieces
    /// now complete. After an error every call returns it again.
    pub fn feed(&mut self, input: &[u8]) -> Result<Vec<Piece>, MimeError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        self.fed += input.len() as u64;
        match self
            .split(input)
            .and_then(|()| self.flush_nested())
            .and_then(|()| self.within_nesting_budget())
        {
            Ok(()) => {
                self.flush_body();
                Ok(std::mem::take(&mut self.out))
            }
            Err(error) => {
                self.failed = Some(error.clone());
                self.state = State::Ignored;
                Err(error)
            }
        }
    }

    /// Bytes held between calls: what the bounds above limit.
    pub fn held(&self) -> usize {
        let state = match &self.state {
            State::Headers { block, .. } => block.len(),
            State::Preamble { held, .. } => held.len(),
            State::Body(decoder) => decoder.held(),
            State::Nested {
                decoder,
                inner,
                batch,
            } => decoder.held() + inner.held() + batch.len(),
            State::Ignored => 0,
        };
        state + self.line.len() + self.held_break.len() + self.body.len()
    }

    /// The message ended: closes every open part.
    pub fn finish(mut self) -> Result<Vec<Piece>, MimeError> {
        if let Some(error) = self.failed.take() {
            return Err(error);
        }
        self.end_of_input()?;
        self.flush_body();
        Ok(self.out)
    }

    fn split(&mut self, mut input: &[u8]) -> Result<(), MimeError> {
        while !input.is_empty() {
            let (taken, complete) = match memchr::memchr(b'\n', input) {
                Some(at) => (&input[..=at], true),
                None => (input, false),
            };
            input = &input[taken.len()..];
            if self.line_passed {
                self.pass_line_bytes(taken, complete)?;
                continue;
            }
            self.line.extend_from_slice(taken);
            if complete {
                let mut line = std::mem::take(&mut self.line);
                self.whole_line(&line)?;
                // Its allocation serves the next line: a message of short
                // lines costs no allocation per line.
                if self.line.is_empty() {
                    line.clear();
                    self.line = line;
                }
            } else {
                self.partial_line()?;
            }
        }
        Ok(())
    }

    /// The line so far cannot be a delimiter: in a body its bytes go on
    /// now (all but a final CR, which may start the line's break).
    fn partial_line(&mut self) -> Result<(), MimeError> {
        match &self.state {
            State::Headers { block, .. } => {
                if block.len() + self.line.len() > self.limits.max_header_bytes {
                    return Err(header_too_large(self.limits.max_header_bytes));
                }
                return Ok(());
            }
            State::Preamble { held, .. } => {
                if held.len() + self.line.len() > self.limits.max_preamble_bytes {
                    return Err(preamble_too_large(self.limits.max_preamble_bytes));
                }
                return Ok(());
            }
            State::Body(_) | State::Nested { .. } | State::Ignored => {}
        }
        if self.may_be_delimiter(&self.line) {
            // Longer than a delimiter, it begins with one: only the bytes
            // that say whether it closes are kept. What is cut off must be
            // white space, or the line is refused now, as it is when it
            // arrives whole: the verdict may not depend on the chunks.
            let keep = MAX_BOUNDARY + 4;
            if self.line.len() > keep && !self.line[keep..].iter().all(u8::is_ascii_whitespace) {
                return Err(goes_on());
            }
            self.line.truncate(keep);
            return Ok(());
        }
        let line = std::mem::take(&mut self.line);
        self.line_passed = true;
        self.pass_line_bytes(&line, false)
    }

    /// More of a line known not to be a delimiter. Its content goes on at
    /// once; its break is held, and so is a final CR until the next bytes
    /// tell whether it starts the break.
    fn pass_line_bytes(&mut self, bytes: &[u8], complete: bool) -> Result<(), MimeError> {
        let carried_cr = std::mem::take(&mut self.line);
        if complete {
            let (content, line_break) = split_break(bytes);
            if !carried_cr.is_empty() && content.is_empty() && line_break == b"\n" {
                self.hold_break(b"\r\n");
            } else {
                self.body_bytes(&carried_cr)?;
                self.body_bytes(content)?;
                self.hold_break(line_break);
            }
            self.line_passed = false;
        } else {
            self.body_bytes(&carried_cr)?;
            match bytes.strip_suffix(b"\r") {
                Some(content) => {
                    self.body_bytes(content)?;
                    self.line = b"\r".to_vec();
                }
                None => self.body_bytes(bytes)?,
            }
        }
        Ok(())
    }

    fn whole_line(&mut self, line: &[u8]) -> Result<(), MimeError> {
        if let Some((frame, closing)) = self.delimiter(line) {
            if self.ambiguous(line, frame) {
                return Err(goes_on());
            }
            return self.at_delimiter(frame, closing);
        }
        match &mut self.state {
            State::Headers { block, .. } => {
                if block.len() + line.len() > self.limits.max_header_bytes {
                    return Err(header_too_large(self.limits.max_header_bytes));
                }
                block.extend_from_slice(line);
                if line == b"\n" || line == b"\r\n" {
                    self.end_headers(true)?;
                }
            }
            State::Preamble { held, .. } => {
                if held.len() + line.len() > self.limits.max_preamble_bytes {
                    return Err(preamble_too_large(self.limits.max_preamble_bytes));
                }
                held.extend_from_slice(line);
            }
            State::Body(_) | State::Nested { .. } => {
                let (content, line_break) = split_break(line);
                self.body_bytes(content)?;
                self.hold_break(line_break);
            }
            State::Ignored => {}
        }
        Ok(())
    }

    /// The frame whose delimiter `line` is, the outermost first, and
    /// whether it closes the multipart.
    fn delimiter(&self, line: &[u8]) -> Option<(usize, bool)> {
        self.frames.iter().enumerate().find_map(|(i, f)| {
            line.strip_prefix(f.delimiter.as_slice())
                .map(|rest| (i, rest.starts_with(b"--")))
        })
    }

    /// A line that begins with a delimiter and goes on with more than
    /// white space (after the closing `--`): `mailparse` takes it for the
    /// delimiter, mail clients that match boundaries exactly do not, and
    /// would show a part that is read here as something else.
    fn ambiguous(&self, line: &[u8], frame: usize) -> bool {
        let rest = &line[self.frames[frame].delimiter.len().min(line.len())..];
        let rest = rest.strip_prefix(b"--").unwrap_or(rest);
        !rest.iter().all(u8::is_ascii_whitespace)
    }

    fn may_be_delimiter(&self, line: &[u8]) -> bool {
        self.frames.iter().any(|f| {
            let n = line.len().min(f.delimiter.len());
            line[..n] == f.delimiter[..n]
        })
    }

    fn hold_break(&mut self, line_break: &[u8]) {
        self.held_break.clear();
        self.held_break.extend_from_slice(line_break);
    }

    /// Body bytes of the current part, after the break held before them.
    fn body_bytes(&mut self, bytes: &[u8]) -> Result<(), MimeError> {
        if bytes.is_empty() && self.held_break.is_empty() {
            return Ok(());
        }
        let held = std::mem::take(&mut self.held_break);
        match &mut self.state {
            State::Body(decoder) => {
                decoder.push(&held, &mut self.body)?;
                decoder.push(bytes, &mut self.body)?;
                if self.body.len() >= PIECE_BYTES {
                    self.flush_body();
                }
            }
            State::Nested { decoder, batch, .. } => {
                decoder.push(&held, batch)?;
                decoder.push(bytes, batch)?;
                if batch.len() >= PIECE_BYTES {
                    self.flush_nested()?;
                }
            }
            State::Headers { .. } | State::Preamble { .. } | State::Ignored => {}
        }
        Ok(())
    }

    fn flush_body(&mut self) {
        if !self.body.is_empty() {
            self.out.push(Piece::Body(std::mem::take(&mut self.body)));
        }
    }

    /// Feeds what a forwarded message's body gathered to its splitter.
    fn flush_nested(&mut self) -> Result<(), MimeError> {
        if let State::Nested { inner, batch, .. } = &mut self.state
            && !batch.is_empty()
        {
            let before = inner.fed + inner.nested;
            let pieces = inner.feed(batch)?;
            self.nested += inner.fed + inner.nested - before;
            batch.clear();
            self.parts = inner.parts;
            self.out.extend(pieces);
        }
        Ok(())
    }

    /// Forwarded messages read inside each other read their bytes once per
    /// level: a few levels are ordinary, a tower of them over a large body
    /// is CPU spent many times over, and is refused.
    fn within_nesting_budget(&self) -> Result<(), MimeError> {
        if self.nested > NESTED_READS * self.fed + NESTED_SLACK {
            return Err(MimeError::Unparseable(format!(
                "forwarded messages nested in each other would be read more than {NESTED_READS} times over"
            )));
        }
        Ok(())
    }

    fn at_delimiter(&mut self, frame: usize, closing: bool) -> Result<(), MimeError> {
        self.held_break.clear();
        let own_preamble =
            matches!(self.state, State::Preamble { .. }) && frame + 1 == self.frames.len();
        // As in `mailparse`, the first delimiter opens a part even when it
        // is a closing one: the parts after it are read, not dropped.
        let closing = closing && !own_preamble;
        if own_preamble {
            if let State::Preamble { head, .. } = std::mem::replace(&mut self.state, State::Ignored)
            {
                self.out.push(Piece::Part(head));
            }
        } else {
            self.close_part()?;
            // Multiparts inside the part that ends here end with it.
            self.frames.truncate(frame + 1);
        }
        let (depth, digest) = (self.frames[frame].depth, self.frames[frame].digest);
        self.state = if closing {
            self.frames.pop();
            State::Ignored
        } else {
            State::Headers {
                block: Vec::new(),
                depth,
                digest,
            }
        };
        Ok(())
    }

    /// Ends what the current state was reading.
    fn close_part(&mut self) -> Result<(), MimeError> {
        match std::mem::replace(&mut self.state, State::Ignored) {
            State::Headers {
                block,
                depth,
                digest,
            } => {
                self.state = State::Headers {
                    block,
                    depth,
                    digest,
                };
                self.end_headers(false)?;
                self.close_part()?;
            }
            State::Preamble {
                mut head,
                held,
                mut decoder,
            } => {
                // No delimiter came: the multipart is a part of its own.
                self.frames.pop();
                head.kind = Kind::Leaf;
                self.out.push(Piece::Part(head));
                let (body, _) = split_break(&held);
                decoder.push(body, &mut self.body)?;
                decoder.finish(&mut self.body)?;
                self.flush_body();
                self.out.push(Piece::End);
            }
            State::Body(mut decoder) => {
                decoder.finish(&mut self.body)?;
                self.flush_body();
                self.out.push(Piece::End);
            }
            State::Nested {
                mut decoder,
                inner,
                mut batch,
            } => {
                decoder.finish(&mut batch)?;
                let mut inner = *inner;
                let mut pieces = inner.feed(&batch)?;
                self.parts = inner.parts;
                pieces.extend(inner.finish()?);
                self.out.extend(pieces);
            }
            State::Ignored => {}
        }
        Ok(())
    }

    /// A header block is complete (`blank`: ended by a blank line, else by
    /// a delimiter or the end of the message).
    fn end_headers(&mut self, blank: bool) -> Result<(), MimeError> {
        let State::Headers {
            block,
            depth,
            digest,
        } = std::mem::replace(&mut self.state, State::Ignored)
        else {
            return Ok(());
        };
        if depth > self.limits.mime.max_depth {
            return Err(MimeError::TooDeep(self.limits.mime.max_depth));
        }
        self.parts += 1;
        if self.parts > self.limits.mime.max_parts {
            return Err(MimeError::TooManyParts(self.limits.mime.max_parts));
        }
        let (content_type, disposition, encoding) = {
            let (headers, _) = mailparse::parse_headers(&block)
                .map_err(|e| MimeError::Unparseable(e.to_string()))?;
            let content_type = headers
                .get_first_value("Content-Type")
                .map(|v| mailparse::parse_content_type(&v))
                .unwrap_or_else(|| default_type(digest));
            let disposition = mailparse::parse_content_disposition(
                &headers
                    .get_first_value("Content-Disposition")
                    .unwrap_or_default(),
            );
            let encoding = headers
                .get_first_value("Content-Transfer-Encoding")
                .map(|e| e.to_lowercase());
            (content_type, disposition, encoding)
        };
        let mimetype = content_type.mimetype.to_lowercase();
        let boundary = content_type
            .params
            .get("boundary")
            .filter(|_| mimetype.starts_with("multipart"))
            .cloned();
        let mut head = PartHead {
            depth,
            kind: Kind::Leaf,
            raw: block,
            content_type,
            disposition,
        };
        let decoder = Decoder::for_encoding(encoding.as_deref());
        if let Some(boundary) = boundary.filter(|_| blank) {
            if boundary.len() > MAX_BOUNDARY {
                return Err(MimeError::Unparseable(format!(
                    "a boundary longer than {MAX_BOUNDARY} bytes"
                )));
            }
            self.frames.push(Frame {
                delimiter: [b"--", boundary.as_bytes()].concat(),
                depth: depth + 1,
                digest: mimetype == "multipart/digest",
            });
            head.kind = Kind::Container;
            self.state = State::Preamble {
                head,
                held: Vec::new(),
                decoder,
            };
            return Ok(());
        }
        if mimetype == "message/rfc822" || mimetype == "message/global" {
            head.kind = Kind::Message;
            self.out.push(Piece::Part(head));
            let inner = Splitter::at(self.limits, depth + 1, self.parts, false);
            self.state = State::Nested {
                decoder,
                inner: Box::new(inner),
                batch: Vec::new(),
            };
            return Ok(());
        }
        self.out.push(Piece::Part(head));
        self.state = State::Body(decoder);
        Ok(())
    }

    fn end_of_input(&mut self) -> Result<(), MimeError> {
        let line = std::mem::take(&mut self.line);
        if self.line_passed {
            // A CR that ended the input is content.
            self.body_bytes(&line)?;
        } else if !line.is_empty() {
            match self.delimiter(&line) {
                Some((frame, _)) if self.ambiguous(&line, frame) => {
                    return Err(MimeError::Unparseable(
                        "a line begins with a boundary and goes on".to_owned(),
                    ));
                }
                // A delimiter without a line after it opens no part.
                Some((frame, _)) => self.at_delimiter(frame, true)?,
                None => {
                    if let State::Headers { block, .. } = &mut self.state {
                        block.extend_from_slice(&line);
                    } else if let State::Preamble { held, .. } = &mut self.state {
                        held.extend_from_slice(&line);
                    } else {
                        self.body_bytes(&line)?;
                    }
                }
            }
        }
        // At the end of the message a break is the body's own.
        self.body_bytes(&[])?;
        self.close_part()?;
        self.frames.clear();
        Ok(())
    }
}

fn default_type(digest: bool) -> ParsedContentType {
    ParsedContentType {
        mimetype: if digest {
            "message/rfc822"
        } else {
            "text/plain"
        }
        .to_owned(),
        charset: "us-ascii".to_owned(),
        params: BTreeMap::new(),
    }
}

/// A line's content and its break (LF or CRLF; none at the end of input).
fn split_break(line: &[u8]) -> (&[u8], &[u8]) {
    match line.strip_suffix(b"\n") {
        Some(rest) => match rest.strip_suffix(b"\r") {
            Some(content) => (content, &line[content.len()..]),
            None => (rest, &line[rest.len()..]),
        },
        None => (line, &[]),
    }
}

fn header_too_large(limit: usize) -> MimeError {
    MimeError::Unparseable(format!("a header block larger than {limit} bytes"))
}

fn preamble_too_large(limit: usize) -> MimeError {
    MimeError::Unparseable(format!(
        "a multipart with no delimiter in its first {limit} bytes"
    ))
}

/// A transfer encoding undone incrementally, as `mailparse` undoes it
/// whole.
enum Decoder {
    Identity,
    /// Base64 characters not yet decoded (fewer than four between
    /// calls), and whether padding was seen (after which only padding and
    /// whitespace may follow).
    Base64 {
        pending: Vec<u8>,
        padded: bool,
    },
    /// The quoted-printable line read so far.
    QuotedPrintable {
        line: Vec<u8>,
    },
}

impl Decoder {
    fn for_encoding(encoding: Option<&str>) -> Self {
        match encoding {
            Some("base64") => Decoder::Base64 {
                pending: Vec::new(),
                padded: false,
            },
            Some("quoted-printable") => Decoder::QuotedPrintable { line: Vec::new() },
            _ => Decoder::Identity,
        }
    }

    fn push(&mut self, bytes: &[u8], out: &mut Vec<u8>) -> Result<(), MimeError> {
        match self {
            Decoder::Identity => out.extend_from_slice(bytes),
            Decoder::Base64 { pending, padded } => {
                for &b in bytes.iter().filter(|b| !b.is_ascii_whitespace()) {
                    if *padded && b != b'=' {
                        return Err(base64_error("data after padding"));
                    }
                    *padded |= b == b'=';
                    pending.push(b);
                }
                // Whole quanta are decoded at once, the rest waits.
                let whole = pending.len() / 4 * 4;
                if whole > 0 {
                    decode_base64(&pending[..whole], out)?;
                    pending.drain(..whole);
                }
            }
            Decoder::QuotedPrintable { line } => {
                let mut rest = bytes;
                while let Some(at) = memchr::memchr(b'\n', rest) {
                    line.extend_from_slice(&rest[..=at]);
                    rest = &rest[at + 1..];
                    decode_qp(line, out)?;
                    line.clear();
                }
                line.extend_from_slice(rest);
                if line.len() > MAX_QP_LINE {
                    return Err(MimeError::Unparseable(format!(
                        "a quoted-printable line longer than {MAX_QP_LINE} bytes"
                    )));
                }
            }
        }
        Ok(())
    }

    fn held(&self) -> usize {
        match self {
            Decoder::Identity => 0,
            Decoder::Base64 { pending, .. } => pending.len(),
            Decoder::QuotedPrintable { line } => line.len(),
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), MimeError> {
        match self {
            Decoder::Identity => {}
            Decoder::Base64 { pending, .. } => {
                if !pending.is_empty() {
                    decode_base64(pending, out)?;
                    pending.clear();
                }
            }
            Decoder::QuotedPrintable { line } => {
                if !line.is_empty() {
                    decode_qp(line, out)?;
                    line.clear();
                }
            }
        }
        Ok(())
    }
}

fn decode_base64(quantum: &[u8], out: &mut Vec<u8>) -> Result<(), MimeError> {
    let decoded = data_encoding::BASE64_MIME_PERMISSIVE
        .decode(quantum)
        .map_err(|e| base64_error(&e.to_string()))?;
    out.extend_from_slice(&decoded);
    Ok(())
}

fn base64_error(detail: &str) -> MimeError {
    MimeError::Unparseable(format!("invalid base64: {detail}"))
}

/// One line at a time decodes as the whole body does: the encoding's
/// soft breaks and escapes never reach past a line.
fn decode_qp(line: &[u8], out: &mut Vec<u8>) -> Result<(), MimeError> {
    let decoded = quoted_printable::decode(line, quoted_printable::ParseMode::Robust)
        .map_err(|e| MimeError::Unparseable(e.to_string()))?;
    out.extend_from_slice(&decoded);
    Ok(())
}

fn goes_on() -> MimeError {
    MimeError::Unparseable("a line begins with a boundary and goes on".to_owned())
}

#[cfg(test)]
#[path = "mime_stream_tests.rs"]
mod tests;
