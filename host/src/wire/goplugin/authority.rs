//! Any `:authority`, as Go's gRPC server accepts it. gRPC C-core and Python clients dialling
//! a Unix socket may send the socket path (or another text that is no URI authority) as the
//! request's `:authority`; the HTTP/2 server under tonic resets such a stream with
//! PROTOCOL_ERROR before any service sees it. So the bytes the client sends are rewritten on
//! their way in: every header block is decoded (HPACK, with the client's dynamic table), an
//! `:authority` that is not a valid URI authority is replaced by `localhost`, and the block is
//! re-encoded with literals only (so that the server's dynamic table never holds anything the
//! client's does not mirror) into HEADERS and CONTINUATION frames. Everything else passes
//! unchanged. A block that does not decode is forwarded as it came, and so is the rest of the
//! connection: the server then rejects it as it would have.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use fluke_hpack::Decoder;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tonic::transport::server::Connected;

/// The client connection preface (RFC 9113 section 3.4).
const PREFACE_LEN: usize = 24;
/// A frame header's length.
const FRAME_HEADER: usize = 9;
/// The largest frame payload the server accepts without announcing more (RFC 9113 section 6.5.2).
const MAX_FRAME: usize = 16_384;
/// The dynamic table size the server announces (the HTTP/2 default).
const HEADER_TABLE_SIZE: usize = 4_096;
/// What an unusable `:authority` becomes.
const STAND_IN: &[u8] = b"localhost";

const HEADERS: u8 = 0x1;
const CONTINUATION: u8 = 0x9;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;

/// A header block whose CONTINUATION frames have not all arrived.
struct Pending {
    stream: [u8; 4],
    end_stream: bool,
    priority: Option<[u8; 5]>,
    block: Vec<u8>,
    /// The frames as they came, forwarded unchanged if the block does not decode.
    raw: Vec<u8>,
}

/// The rewriting of the client's byte stream: bytes in, bytes for the server out.
pub struct Rewriter {
    input: Vec<u8>,
    preface_left: usize,
    decoder: Decoder<'static>,
    pending: Option<Pending>,
    passthrough: bool,
}

impl Default for Rewriter {
    fn default() -> Self {
        let mut decoder = Decoder::new();
        decoder.set_max_allowed_table_size(HEADER_TABLE_SIZE);
        Self {
            input: Vec::new(),
            preface_left: PREFACE_LEN,
            decoder,
            pending: None,
            passthrough: false,
        }
    }
}

impl Rewriter {
    /// Takes `bytes` from the client; appends to `out` what the server can have now.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        // The buffer is taken out while its frames are handled, so that a frame is passed
        // on from it without a copy of its own.
        let mut input = std::mem::take(&mut self.input);
        input.extend_from_slice(bytes);
        let mut at = 0;
        loop {
            let rest = &input[at..];
            if self.passthrough {
                out.extend_from_slice(rest);
                at = input.len();
                break;
            }
            if self.preface_left > 0 {
                let n = self.preface_left.min(rest.len());
                out.extend_from_slice(&rest[..n]);
                self.preface_left -= n;
                at += n;
                if self.preface_left > 0 {
                    break;
                }
                continue;
            }
            let Some(header) = rest.get(..FRAME_HEADER) else {
                break;
            };
            let length =
                usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
            let Some(frame) = rest.get(..FRAME_HEADER + length) else {
                break;
            };
            at += frame.len();
            self.frame(frame, out);
        }
        input.drain(..at);
        self.input = input;
    }

    /// Whatever the client sent after its last complete frame, forwarded as it is (at the
    /// end of the connection).
    pub fn flush_rest(&mut self, out: &mut Vec<u8>) {
        if let Some(pending) = self.pending.take() {
            out.extend_from_slice(&pending.raw);
        }
        out.append(&mut self.input);
    }

    fn frame(&mut self, frame: &[u8], out: &mut Vec<u8>) {
        let (kind, flags) = (frame[3], frame[4]);
        let stream = [frame[5], frame[6], frame[7], frame[8]];
        let payload = &frame[FRAME_HEADER..];
        match (kind, self.pending.as_mut()) {
            (HEADERS, None) => {
                let Some((priority, fragment)) = headers_fragment(flags, payload) else {
                    return self.give_up(frame, out);
                };
                self.pending = Some(Pending {
                    stream,
                    end_stream: flags & END_STREAM != 0,
                    priority,
                    block: fragment.to_vec(),
                    raw: frame.to_vec(),
                });
            }
            (CONTINUATION, Some(pending)) if pending.stream == stream => {
                pending.block.extend_from_slice(payload);
                pending.raw.extend_from_slice(frame);
            }
            // Anything else in the middle of a block, or a CONTINUATION without one, is the
            // server's to reject.
            (_, Some(_)) | (CONTINUATION, None) => return self.give_up(frame, out),
            (_, None) => {
                out.extend_from_slice(frame);
                return;
            }
        }
        if flags & END_HEADERS != 0
            && let Some(pending) = self.pending.take()
        {
            self.finish(pending, out);
        }
    }

    fn finish(&mut self, pending: Pending, out: &mut Vec<u8>) {
        // The decoder panics on some malformed integers: such a block is not given to it.
        if !well_formed(&pending.block) {
            self.passthrough = true;
            out.extend_from_slice(&pending.raw);
            return;
        }
        let mut block = Vec::with_capacity(pending.block.len() + 16);
        let decoded = self.decoder.decode_with_cb(&pending.block, |name, value| {
            let value: &[u8] =
                if &*name == b":authority" && http::uri::Authority::try_from(&*value).is_err() {
                    STAND_IN
                } else {
                    &value
                };
            literal(&mut block, &name, value);
        });
        if decoded.is_err() {
            self.passthrough = true;
            out.extend_from_slice(&pending.raw);
            return;
        }
        let first_budget = MAX_FRAME - if pending.priority.is_some() { 5 } else { 0 };
        let (first, mut rest) = block.split_at(block.len().min(first_budget));
        let mut flags = if pending.end_stream { END_STREAM } else { 0 };
        if pending.priority.is_some() {
            flags |= PRIORITY;
        }
        if rest.is_empty() {
            flags |= END_HEADERS;
        }
        let priority = pending.priority.as_ref().map_or(&[][..], |p| &p[..]);
        write_frame(out, HEADERS, flags, pending.stream, &[priority, first]);
        while !rest.is_empty() {
            let (chunk, after) = rest.split_at(rest.len().min(MAX_FRAME));
            let flags = if after.is_empty() { END_HEADERS } else { 0 };
            write_frame(out, CONTINUATION, flags, pending.stream, &[chunk]);
            rest = after;
        }
    }

    /// Forwards `frame` and everything after it unchanged.
    fn give_up(&mut self, frame: &[u8], out: &mut Vec<u8>) {
        if let Some(pending) = self.pending.take() {
            out.extend_from_slice(&pending.raw);
        }
        out.extend_from_slice(frame);
        self.passthrough = true;
    }
}

/// A HEADERS payload's priority fields and header block fragment, padding removed.
fn headers_fragment(flags: u8, payload: &[u8]) -> Option<(Option<[u8; 5]>, &[u8])> {
    let mut fragment = payload;
    if flags & PADDED != 0 {
        let (&pad, rest) = fragment.split_first()?;
        fragment = rest.get(..rest.len().checked_sub(usize::from(pad))?)?;
    }
    let mut priority = None;
    if flags & PRIORITY != 0 {
        let (fields, rest) = fragment.split_at_checked(5)?;
        priority = Some(fields.try_into().ok()?);
        fragment = rest;
    }
    Some((priority, fragment))
}

/// Whether every representation of a header block has well-formed integers and strings that
/// end inside the block (RFC 7541 sections 5 and 6); what they mean is the decoder's to check.
fn well_formed(mut block: &[u8]) -> bool {
    while let Some(&first) = block.first() {
        let (prefix, strings_if_new_name) = match first {
            0x80.. => (7, false),
            0x40..=0x7f => (6, true),
            0x20..=0x3f => (5, false),
            _ => (4, true),
        };
        let Some((index, used)) = hpack_integer(block, prefix) else {
            return false;
        };
        block = &block[used..];
        if strings_if_new_name {
            let strings = if index == 0 { 2 } else { 1 };
            for _ in 0..strings {
                let Some((length, used)) = hpack_integer(block, 7) else {
                    return false;
                };
                let Some(rest) = block.get(used..).and_then(|r| r.get(length..)) else {
                    return false;
                };
                block = rest;
            }
        }
    }
    true
}

/// An HPACK integer with a `prefix`-bit prefix at the start of `bytes`, and the bytes it
/// takes; none when it is cut short or does not fit in 28 bits.
fn hpack_integer(bytes: &[u8], prefix: u32) -> Option<(usize, usize)> {
    let max = (1_usize << prefix) - 1;
    let mut value = usize::from(*bytes.first()?) & max;
    if value < max {
        return Some((value, 1));
    }
    for (at, &byte) in bytes.iter().enumerate().skip(1).take(4) {
        value += usize::from(byte & 0x7f) << (7 * (at - 1));
        if byte & 0x80 == 0 {
            return Some((value, at + 1));
        }
    }
    None
}

/// A literal header field without indexing, new name, no Huffman coding (RFC 7541 section 6.2.2).
fn literal(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.push(0);
    for text in [name, value] {
        integer(out, text.len());
        out.extend_from_slice(text);
    }
}

/// An HPACK integer with a 7-bit prefix and the Huffman bit clear (RFC 7541 section 5.1).
fn integer(out: &mut Vec<u8>, mut value: usize) {
    const PREFIX_MAX: usize = 127;
    if value < PREFIX_MAX {
        out.push(value as u8);
        return;
    }
    out.push(PREFIX_MAX as u8);
    value -= PREFIX_MAX;
    while value >= 128 {
        out.push((value % 128) as u8 | 0x80);
        value /= 128;
    }
    out.push(value as u8);
}

fn write_frame(out: &mut Vec<u8>, kind: u8, flags: u8, stream: [u8; 4], parts: &[&[u8]]) {
    let length: usize = parts.iter().map(|p| p.len()).sum();
    out.extend_from_slice(&[
        (length >> 16) as u8,
        (length >> 8) as u8,
        length as u8,
        kind,
        flags,
    ]);
    out.extend_from_slice(&stream);
    for part in parts {
        out.extend_from_slice(part);
    }
}

/// A server connection whose incoming bytes go through a [`Rewriter`].
pub struct AnyAuthority<S> {
    inner: S,
    rewriter: Rewriter,
    ready: Vec<u8>,
    ready_at: usize,
    eof: bool,
}

impl<S> AnyAuthority<S> {
    /// Wraps the accepted connection `inner`.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            rewriter: Rewriter::default(),
            ready: Vec::new(),
            ready_at: 0,
            eof: false,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for AnyAuthority<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.ready_at < this.ready.len() {
                let n = buf.remaining().min(this.ready.len() - this.ready_at);
                buf.put_slice(&this.ready[this.ready_at..this.ready_at + n]);
                this.ready_at += n;
                return Poll::Ready(Ok(()));
            }
            this.ready.clear();
            this.ready_at = 0;
            if this.eof {
                return Poll::Ready(Ok(()));
            }
            let mut chunk = [0_u8; 8192];
            let mut read = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
            if read.filled().is_empty() {
                this.eof = true;
                this.rewriter.flush_rest(&mut this.ready);
            } else {
                this.rewriter.push(read.filled(), &mut this.ready);
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for AnyAuthority<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl<S: Connected> Connected for AnyAuthority<S> {
    type ConnectInfo = S::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}

#[cfg(test)]
mod tests;
