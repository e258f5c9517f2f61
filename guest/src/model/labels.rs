//! Label values ([behaviour §3.1](../../../docs/behaviour.md#31-label-value-normalisation), [behaviour §3.2](../../../docs/behaviour.md#32-annotation-and-label-merge), [behaviour §3.14](../../../docs/behaviour.md#314-veleroio-labels)).

use sha2::{Digest, Sha256};

/// Longest value a Kubernetes label holds.
const MAX_LABEL_VALUE: usize = 63;

/// N(x): values of at most 63 bytes are kept; longer ones become their first 57 bytes
/// followed by the first 6 hex digits of their SHA-256.
pub fn normalize(value: &str) -> String {
    if value.len() <= MAX_LABEL_VALUE {
        return value.to_owned();
    }
    let digest = Sha256::digest(value.as_bytes());
    let hex: String = digest.iter().take(3).map(|b| format!("{b:02x}")).collect();
    let mut cut = MAX_LABEL_VALUE - 6;
    while !value.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{hex}", &value[..cut])
}

#[cfg(test)]
mod tests;
