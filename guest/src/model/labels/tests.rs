use super::*;

/// [behaviour §3.1](../../../../docs/behaviour.md#31-label-value-normalisation) test vectors.
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
