//! The bytes a client sends on the plugin's socket, through the rewriting that lets any
//! `:authority` in (`host/src/wire/goplugin/authority.rs`), delivered in chunks of the
//! input's first byte (plus one) as a socket would.
#![no_main]

use velero_plugin_for_csi::wire::goplugin::authority::Rewriter;

libfuzzer_sys::fuzz_target!(init: velero_csi_fuzz::init("http2_frames"), |data: &[u8]| {
    let Some((&chunk, stream)) = data.split_first() else {
        return;
    };
    let mut rewriter = Rewriter::default();
    let mut out = Vec::new();
    for piece in stream.chunks(usize::from(chunk) + 1) {
        rewriter.push(piece, &mut out);
    }
    rewriter.flush_rest(&mut out);
});
