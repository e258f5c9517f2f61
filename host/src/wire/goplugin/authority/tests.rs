use fluke_hpack::{Decoder, Encoder};

use super::*;

const CLIENT_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

type Headers = Vec<(Vec<u8>, Vec<u8>)>;

fn request(authority: &str, path: &str) -> Headers {
    [
        (":method", "POST"),
        (":scheme", "http"),
        (":path", path),
        (":authority", authority),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
    ]
    .iter()
    .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
    .collect()
}

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    write_frame(&mut out, kind, flags, stream.to_be_bytes(), &[payload]);
    out
}

/// The client's bytes: preface, empty SETTINGS, then each request's HEADERS on streams
/// 1, 3, … encoded by one (indexing) encoder, as a real client's.
fn client(requests: &[Headers]) -> Vec<u8> {
    let mut encoder = Encoder::new();
    let mut bytes = CLIENT_PREFACE.to_vec();
    bytes.extend(frame(0x4, 0, 0, &[]));
    for (i, headers) in requests.iter().enumerate() {
        let block = encoder.encode(headers.iter().map(|(n, v)| (&n[..], &v[..])));
        bytes.extend(frame(HEADERS, END_HEADERS, 1 + 2 * i as u32, &block));
    }
    bytes
}

/// The frames of `bytes` after the preface: (type, flags, stream, payload).
fn frames(bytes: &[u8]) -> Vec<(u8, u8, u32, Vec<u8>)> {
    assert_eq!(&bytes[..PREFACE_LEN], CLIENT_PREFACE);
    let mut rest = &bytes[PREFACE_LEN..];
    let mut out = Vec::new();
    while !rest.is_empty() {
        let length = usize::from(rest[0]) << 16 | usize::from(rest[1]) << 8 | usize::from(rest[2]);
        let stream = u32::from_be_bytes([rest[5], rest[6], rest[7], rest[8]]);
        out.push((rest[3], rest[4], stream, rest[9..9 + length].to_vec()));
        rest = &rest[9 + length..];
    }
    out
}

/// The header lists the server decodes from `bytes`.
fn decoded(bytes: &[u8]) -> Vec<Headers> {
    let mut decoder = Decoder::new();
    let mut lists = Vec::new();
    let mut block = Vec::new();
    for (kind, flags, _, payload) in frames(bytes) {
        match kind {
            HEADERS => {
                let (_, fragment) = headers_fragment(flags, &payload).unwrap();
                block.extend_from_slice(fragment);
            }
            CONTINUATION => block.extend_from_slice(&payload),
            _ => continue,
        }
        if flags & END_HEADERS != 0 {
            lists.push(decoder.decode(&block).unwrap());
            block.clear();
        }
    }
    lists
}

fn rewrite(bytes: &[u8]) -> Vec<u8> {
    let mut rewriter = Rewriter::default();
    let mut out = Vec::new();
    rewriter.push(bytes, &mut out);
    rewriter.flush_rest(&mut out);
    out
}

#[test]
fn an_unusable_authority_becomes_localhost_and_the_rest_is_kept() {
    // The socket path; what gRPC C-core 58 (Python grpcio 1.85) sends by default; a valid one.
    let socket = request("/tmp/plugin123/plugin.sock", "/grpc.health.v1.Health/Check");
    let encoded = request(
        "tmp%2Fplugin123%2Fplugin.sock",
        "/v2.BackupItemAction/Execute",
    );
    let valid = request("localhost:50051", "/v2.BackupItemAction/Execute");
    let out = rewrite(&client(&[
        socket.clone(),
        encoded.clone(),
        valid.clone(),
        socket.clone(),
    ]));
    let stand_in = |mut headers: Headers| {
        headers[3].1 = b"localhost".to_vec();
        headers
    };
    assert_eq!(
        decoded(&out),
        vec![
            stand_in(socket.clone()),
            stand_in(encoded),
            valid,
            stand_in(socket)
        ]
    );
    // The SETTINGS frame passes unchanged.
    assert_eq!(frames(&out)[0], (0x4, 0, 0, Vec::new()));
}

#[test]
fn the_client_dynamic_table_is_followed_across_requests() {
    let requests: Vec<Headers> = (0..50)
        .map(|i| {
            request(
                "localhost",
                &format!("/v2.BackupItemAction/Execute{}", i % 7),
            )
        })
        .collect();
    let bytes = client(&requests);
    assert_eq!(decoded(&rewrite(&bytes)), requests);
}

#[test]
fn bytes_one_at_a_time_give_the_same_stream() {
    let bytes = client(&[request("/a b", "/x"), request("h", "/y")]);
    let mut rewriter = Rewriter::default();
    let mut out = Vec::new();
    for byte in &bytes {
        rewriter.push(std::slice::from_ref(byte), &mut out);
    }
    assert_eq!(out, rewrite(&bytes));
}

#[test]
fn padding_priority_and_continuations_are_handled() {
    let mut headers = request("/sock", "/p");
    headers.push((b"x-big".to_vec(), vec![b'v'; 40_000]));
    let block = Encoder::new().encode(headers.iter().map(|(n, v)| (&n[..], &v[..])));
    let mut first = vec![3_u8]; // pad length
    first.extend_from_slice(&[0, 0, 0, 0, 16]); // priority: stream 0, weight 16
    first.extend_from_slice(&block[..100]);
    first.extend_from_slice(&[0, 0, 0]);
    let mut bytes = CLIENT_PREFACE.to_vec();
    bytes.extend(frame(HEADERS, PADDED | PRIORITY | END_STREAM, 1, &first));
    bytes.extend(frame(CONTINUATION, 0, 1, &block[100..20_000]));
    bytes.extend(frame(CONTINUATION, END_HEADERS, 1, &block[20_000..]));
    let out = rewrite(&bytes);
    let sent = frames(&out);
    assert!(sent.len() >= 3, "a block over 16 KiB is split again");
    assert!(
        sent.iter()
            .all(|(_, _, stream, payload)| *stream == 1 && payload.len() <= MAX_FRAME)
    );
    assert_eq!(sent[0].1, PRIORITY | END_STREAM);
    assert_eq!(&sent[0].3[..5], &[0, 0, 0, 0, 16]);
    assert_eq!(sent.last().unwrap().1, END_HEADERS);
    let mut expected = headers;
    expected[3].1 = b"localhost".to_vec();
    assert_eq!(decoded(&out), vec![expected]);
}

#[test]
fn a_block_that_does_not_decode_goes_through_as_it_came() {
    let mut bytes = CLIENT_PREFACE.to_vec();
    bytes.extend(frame(HEADERS, END_HEADERS, 1, &[0xff, 0xff, 0xff, 0xff]));
    let after = frame(HEADERS, END_HEADERS, 3, &[0x82]);
    bytes.extend(&after);
    assert_eq!(rewrite(&bytes), bytes);
}

#[test]
fn an_incomplete_frame_at_the_end_is_forwarded() {
    let mut bytes = client(&[request("h", "/x")]);
    bytes.extend_from_slice(&[0, 0, 9, HEADERS]);
    assert!(rewrite(&bytes).ends_with(&[0, 0, 9, HEADERS]));
}

// Found by the fuzz target http2_frames: a dynamic table size update whose integer is cut
// short made the HPACK decoder panic.
#[test]
fn a_malformed_size_update_goes_through_without_decoding() {
    for block in [
        &[0x3f][..],
        &[0x3f, 0xff, 0xff, 0xff, 0xff, 0xff],
        &[0x00, 0x05, b'a'],
    ] {
        let mut bytes = CLIENT_PREFACE.to_vec();
        bytes.extend(frame(HEADERS, END_HEADERS, 1, block));
        assert_eq!(rewrite(&bytes), bytes);
    }
}

#[test]
fn integers_are_read_as_rfc_7541_writes_them() {
    assert_eq!(hpack_integer(&[10], 5), Some((10, 1)));
    assert_eq!(hpack_integer(&[31, 154, 10], 5), Some((1337, 3)));
    assert_eq!(hpack_integer(&[0xff, 0x80], 7), None);
    let mut out = Vec::new();
    integer(&mut out, 1337);
    assert_eq!(hpack_integer(&out, 7), Some((1337, out.len())));
}
