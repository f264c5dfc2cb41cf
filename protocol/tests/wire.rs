//! Byte-exact checks against frames the Java dEF-Pi libraries produce
//! (docs/protocol.md#framing and #messages, from the original's SerializationTest and ServiceTest).

use std::collections::HashMap;

use switchyard_protocol::{
    connection::{connection_message::ModeType, ConnectionHandshake, ConnectionMessage, ConnectionState},
    envelope::{split, EnvelopeError, Management},
    frame::{encode, read_frame, write_frame},
    process::{ProcessState, ProcessStateUpdateMessage, SetConfigMessage},
};

/// Bytes from hex pairs and "quoted ASCII", as the reference writes frames.
fn bytes(spec: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, part) in spec.split('"').enumerate() {
        if i % 2 == 1 {
            out.extend_from_slice(part.as_bytes());
        } else {
            out.extend(part.split_whitespace().filter(|t| *t != "|").map(|h| u8::from_str_radix(h, 16).unwrap()));
        }
    }
    out
}

fn frame_of(m: &Management) -> Vec<u8> {
    encode(&m.encode())
}

#[test]
fn raw_and_heartbeat_frames() {
    assert_eq!(encode(b"Hello dEF-Pi!"), bytes("00 00 00 0d 48 65 6c 6c 6f 20 64 45 46 2d 50 69 21 ff"));
    assert_eq!(encode(&[0x0a]), bytes("00 00 00 01 0a ff"), "PING");
    assert_eq!(encode(&[0x0b]), bytes("00 00 00 01 0b ff"), "PONG");
}

#[test]
fn management_messages_match_the_java_encoder() {
    let starting = Management::ProcessStateUpdate(ProcessStateUpdateMessage {
        process_id: "1337".into(),
        state: ProcessState::Starting as i32,
        state_data: None,
    });
    assert_eq!(
        frame_of(&starting),
        bytes(r#"00 00 00 22 | 19 "ProcessStateUpdateMessage" | 0a 04 31 33 33 37 10 00 | ff"#)
    );

    let create = Management::Connection(ConnectionMessage {
        mode: ModeType::Create as i32,
        connection_id: "428".into(),
        target_address: Some("10.130.7.1".into()),
        listen_port: Some(8779),
        ..Default::default()
    });
    assert_eq!(
        frame_of(&create),
        bytes(
            r#"00 00 00 28 | 11 "ConnectionMessage" | 08 00 12 03 34 32 38 1a 0a 31 30 2e 31 33 30 2e 37 2e 31 20 cb 44 | ff"#
        )
    );

    let config = Management::SetConfig(SetConfigMessage {
        process_id: "null".into(),
        is_update: false,
        config: HashMap::from([("key".to_string(), "value".to_string())]),
    });
    assert_eq!(
        frame_of(&config),
        bytes(
            r#"00 00 00 27 | 10 "SetConfigMessage" | 0a 04 6e 75 6c 6c 10 00 1a 0c 0a 03 6b 65 79 12 05 76 61 6c 75 65 | ff"#
        )
    );

    // The Java process always sets stateData, even empty: field 3 with length 0.
    let running = Management::ProcessStateUpdate(ProcessStateUpdateMessage {
        process_id: "null".into(),
        state: ProcessState::Running as i32,
        state_data: Some(Vec::new()),
    });
    assert_eq!(
        frame_of(&running),
        bytes(r#"00 00 00 24 | 19 "ProcessStateUpdateMessage" | 0a 04 6e 75 6c 6c 10 02 1a 00 | ff"#)
    );

    let handshake = Management::ConnectionHandshake(ConnectionHandshake {
        connection_state: ConnectionState::Connected as i32,
        connection_id: "1".into(),
        receive_hash: None,
        send_hash: None,
    });
    assert_eq!(frame_of(&handshake), bytes(r#"00 00 00 19 | 13 "ConnectionHandshake" | 08 01 12 01 31 | ff"#));

    for m in [starting, create, config, running, handshake] {
        assert_eq!(Management::decode(&m.encode()), Ok(m.clone()), "round trip");
    }
}

#[test]
fn envelopes_are_checked_as_the_java_receiver_does() {
    assert_eq!(split(&[]), Err(EnvelopeError::Malformed));
    assert_eq!(split(&bytes(r#"00 "X" 01"#)), Err(EnvelopeError::Malformed), "n must be positive");
    assert_eq!(split(&bytes(r#"80 "X" 01"#)), Err(EnvelopeError::Malformed), "n is a signed byte");
    assert_eq!(split(&bytes(r#"03 "Abc""#)), Err(EnvelopeError::Malformed), "the body must not be empty");
    assert_eq!(split(&bytes(r#"03 "Abc" 08"#)), Ok(("Abc", &[8u8][..])));
    assert_eq!(Management::decode(&bytes(r#"03 "Abc" 08"#)), Err(EnvelopeError::UnknownType("Abc".into())));
}

#[tokio::test]
async fn reading_frames_resynchronises_and_sees_the_end() {
    // A frame, then garbage instead of the EOM byte before the 0xFF, then another frame.
    let mut wire = bytes("00 00 00 02 01 02 ff");
    wire.extend(bytes("00 00 00 01 07 13 37 ff"));
    wire.extend(bytes("00 00 00 01 09 ff"));
    let mut r = &wire[..];
    assert_eq!(read_frame(&mut r).await.unwrap(), Some(vec![1, 2]));
    assert_eq!(read_frame(&mut r).await.unwrap(), Some(vec![7]), "bytes up to the next 0xFF are skipped");
    assert_eq!(read_frame(&mut r).await.unwrap(), Some(vec![9]));
    assert_eq!(read_frame(&mut r).await.unwrap(), None, "end of stream");

    let mut half = &bytes("00 00 00 05 01 02")[..];
    assert_eq!(read_frame(&mut half).await.unwrap(), None, "EOF halfway through a frame");
    let mut java_eof = &bytes("ff ff ff ff")[..];
    assert_eq!(read_frame(&mut java_eof).await.unwrap(), None, "a negative length is the end of stream");

    let mut out = Vec::new();
    write_frame(&mut out, b"Hello dEF-Pi!").await.unwrap();
    assert_eq!(read_frame(&mut &out[..]).await.unwrap().as_deref(), Some(&b"Hello dEF-Pi!"[..]));
}
