// Generates the mediator client and server from the project's own proto.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=../../proto/mediator.proto");
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_protos(&["../../proto/mediator.proto"], &["../../proto"])?;
    Ok(())
}
