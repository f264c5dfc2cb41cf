//! Generate the message types from the .proto files with prost; protox parses them in pure Rust,
//! so no protoc has to be installed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = ["proto/Service.proto", "proto/Connection.proto"];
    for f in files {
        println!("cargo:rerun-if-changed={f}");
    }
    let descriptors = protox::compile(files, ["proto"])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
