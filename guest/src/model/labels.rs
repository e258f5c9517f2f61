//! Label values (spec §3.1, §3.2, §3.14).

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
mod tests {
    use super::*;

    /// Spec §3.1 test vectors.
    #[test]
    fn normalisation_vectors() {
        let cases = [
            (
                "migre209d0da-49c7-45ba-8d5a-3e59fd591ec1.kibishii-data-kibishii-deployment-0",
                "migre209d0da-49c7-45ba-8d5a-3e59fd591ec1.kibishii-data-ki152333",
            ),
            (
                "du-11111111-2222-3333-4444-555555555555.aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                "du-11111111-2222-3333-4444-555555555555.aaaaaaaa-bbbb-ccc2bab87",
            ),
            (
                "dd-11111111-2222-3333-4444-555555555555.aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                "dd-11111111-2222-3333-4444-555555555555.aaaaaaaa-bbbb-cccd99990",
            ),
            (
                "nightly-backup-of-the-production-cluster-with-a-very-long-name-2024-01",
                "nightly-backup-of-the-production-cluster-with-a-very-long9086ae",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize(input), expected);
        }
        let a63 = "a".repeat(63);
        assert_eq!(normalize(&a63), a63);
        assert_eq!(
            normalize(&"a".repeat(64)),
            format!("{}ffe054", "a".repeat(57))
        );
    }
}
