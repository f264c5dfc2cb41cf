//! The "Temperature" interface shared by the example services: the message of
//! `services/examples/proto/Temperature.proto` as a prost type, and the interface version with
//! its hashes computed from that file (as the original code generators compute them, so they
//! equal the images' labels; the crates' label tests check that).

use switchyard_service::InterfaceVersion;

/// `message TemperatureReading` of Temperature.proto (proto2: every field required).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TemperatureReading {
    #[prost(uint64, required, tag = "1")]
    pub sequence: u64,
    #[prost(double, required, tag = "2")]
    pub value: f64,
    #[prost(string, required, tag = "3")]
    pub unit: String,
}

impl prost::Name for TemperatureReading {
    const NAME: &'static str = "TemperatureReading";
    const PACKAGE: &'static str = "";
    fn full_name() -> String {
        Self::NAME.into()
    }
    fn type_url() -> String {
        format!("/{}", Self::NAME)
    }
}

pub const DESCRIPTOR: &[u8] = include_bytes!("proto/Temperature.proto");

/// Version "1" of the interface, seen from the side that sends readings (`sending`) or from
/// the side that receives them.
pub fn interface_version(sending: bool) -> InterfaceVersion {
    let names: &[&str] = &["TemperatureReading"];
    let (sends, receives) = if sending { (names, &[][..]) } else { (&[][..], names) };
    let (sends_hash, receives_hash) =
        switchyard_protocol::hashes::interface_version_hashes(DESCRIPTOR, sends, receives);
    InterfaceVersion::new("1", &receives_hash, &sends_hash)
}
