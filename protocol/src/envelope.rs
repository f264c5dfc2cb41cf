//! The type-tagged protobuf envelope: `n: u8 | type name: n bytes | protobuf encoding`.

use prost::Message;

use crate::{
    connection::{ConnectionHandshake, ConnectionMessage},
    process::{
        ErrorMessage, GoToProcessStateMessage, ProcessStateUpdateMessage, ResumeProcessMessage, SetConfigMessage,
    },
};

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("received data is not a valid message")]
    Malformed,
    #[error("unable to find parser for message type '{0}', message type was not registered")]
    UnknownType(String),
    #[error("unable to find parser for message type '{0}', problem during parsing: {1}")]
    Parse(String, String),
}

/// Wrap a message: its unqualified protobuf name, then its encoding. Names are 1 to 127 bytes.
pub fn encode<M: Message>(type_name: &str, message: &M) -> Vec<u8> {
    debug_assert!(!type_name.is_empty() && type_name.len() < 128);
    let mut out = Vec::with_capacity(1 + type_name.len() + message.encoded_len());
    out.push(type_name.len() as u8);
    out.extend_from_slice(type_name.as_bytes());
    message.encode(&mut out).expect("a Vec grows as needed");
    out
}

/// Split an envelope into its type name and body, with the Java receiver's checks: the length
/// byte is a signed byte above zero, and the body holds at least one byte.
pub fn split(data: &[u8]) -> Result<(&str, &[u8]), EnvelopeError> {
    let n = *data.first().ok_or(EnvelopeError::Malformed)? as i8;
    if n <= 0 || data.len() < n as usize + 2 {
        return Err(EnvelopeError::Malformed);
    }
    let name = std::str::from_utf8(&data[1..=n as usize]).map_err(|_| EnvelopeError::Malformed)?;
    Ok((name, &data[n as usize + 1..]))
}

/// Every message of the management channel, in either direction.
#[derive(Clone, Debug, PartialEq)]
pub enum Management {
    GoToProcessState(GoToProcessStateMessage),
    SetConfig(SetConfigMessage),
    ProcessStateUpdate(ProcessStateUpdateMessage),
    ResumeProcess(ResumeProcessMessage),
    Connection(ConnectionMessage),
    ConnectionHandshake(ConnectionHandshake),
    Error(ErrorMessage),
}

fn parse<M: Message + Default>(name: &str, body: &[u8]) -> Result<M, EnvelopeError> {
    M::decode(body).map_err(|e| EnvelopeError::Parse(name.to_string(), e.to_string()))
}

impl Management {
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Management::GoToProcessState(m) => encode("GoToProcessStateMessage", m),
            Management::SetConfig(m) => encode("SetConfigMessage", m),
            Management::ProcessStateUpdate(m) => encode("ProcessStateUpdateMessage", m),
            Management::ResumeProcess(m) => encode("ResumeProcessMessage", m),
            Management::Connection(m) => encode("ConnectionMessage", m),
            Management::ConnectionHandshake(m) => encode("ConnectionHandshake", m),
            Management::Error(m) => encode("ErrorMessage", m),
        }
    }

    pub fn decode(data: &[u8]) -> Result<Self, EnvelopeError> {
        let (name, body) = split(data)?;
        Ok(match name {
            "GoToProcessStateMessage" => Management::GoToProcessState(parse(name, body)?),
            "SetConfigMessage" => Management::SetConfig(parse(name, body)?),
            "ProcessStateUpdateMessage" => Management::ProcessStateUpdate(parse(name, body)?),
            "ResumeProcessMessage" => Management::ResumeProcess(parse(name, body)?),
            "ConnectionMessage" => Management::Connection(parse(name, body)?),
            "ConnectionHandshake" => Management::ConnectionHandshake(parse(name, body)?),
            "ErrorMessage" => Management::Error(parse(name, body)?),
            other => return Err(EnvelopeError::UnknownType(other.to_string())),
        })
    }
}
