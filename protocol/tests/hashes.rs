//! The original code generator's test vectors (docs/protocol.md#test-vectors).

use switchyard_protocol::hashes::{java_hex, message_set_hash, raml_message_sets, RamlRole};

#[test]
fn codegen_test_vectors() {
    assert_eq!(message_set_hash("", &["Stuff"]), "c6ea70559295ffc6aba33ea620642d86199bc36521311215a01f19d8dc246721");
    assert_eq!(message_set_hash("", &[]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

#[test]
fn http_proto_vectors() {
    let file = "e00da70ae21e257e79e23df20461e28edb5c6e4c16f6675b8dc4c40e574ebc06";
    assert_eq!(
        message_set_hash(file, &["HTTPResponse"]),
        "aafa92f5e8c919cc004f017d0c7706bf5e72594e656cf04cd67dd47b97cf7c6c"
    );
    assert_eq!(
        message_set_hash(file, &["HTTPRequest"]),
        "c46d5961b42774f80194e8308e4a1bec450881925f8d20a08a1f764acf22ed24"
    );
}

#[test]
fn efi_xsd_vectors_match_the_tutorial_images() {
    let file = "57f5c6467b24edd44ea75ebb8bb2bc2f9c890ecb5849f1ac8b26d7e3547a5212";
    assert_eq!(
        message_set_hash(file, &["Measurement", "InflexibleRegistration", "InflexibleCurtailmentOptions"]),
        "2d8647b697819ff9dd7dfc4f005d580df7accfa20dc01fc39f7d1e3bc901b346"
    );
    assert_eq!(
        message_set_hash(file, &["InflexibleInstruction"]),
        "31fffa222831723a1b2ceaec406ed47140029d3230971c953b8857946a8fa89a"
    );
}

#[test]
fn order_and_duplicates_do_not_matter() {
    let a = message_set_hash("f", &["A", "B", "C"]);
    assert_eq!(a, message_set_hash("f", &["C", "B", "A"]));
    assert_eq!(a, message_set_hash("f", &["B", "A", "A", "A", "C", "C"]));
}

#[test]
fn hex_drops_leading_zeros_like_java() {
    assert_eq!(java_hex(&[0x00, 0x0a, 0xbc]), "abc");
    assert_eq!(java_hex(&[0x0f, 0xff]), "fff");
    assert_eq!(java_hex(&[0, 0]), "0");
    assert_eq!(raml_message_sets(RamlRole::Client), (&["RamlRequest"][..], &["RamlResponse"][..]));
}
