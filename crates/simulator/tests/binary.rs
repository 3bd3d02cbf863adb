//! The binary as scripts run it: ports on stdout, clean exit on SIGTERM and
//! on the control port's `shutdown`, and a state file that survives a
//! restart so a token is never applied twice.

use flows_emop::{decode, ObjectId};
use flows_mediator::proto::emlite_mediator_service_client::EmliteMediatorServiceClient;
use flows_mediator::proto::{ReadElementRequest, WriteElementRequest};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_flows-mediator-sim");
const TOKEN: &[u8] = b"10000000000000000500";

struct Sim {
    child: Child,
    grpc: String,
    control: String,
}

fn spawn(state_file: &std::path::Path) -> Sim {
    let mut child = Command::new(BIN)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--control-port",
            "0",
            "--generate",
            "1",
        ])
        .args([
            "--initial-balance",
            "1",
            "--latency-ms",
            "1",
            "--spacing-ms",
            "0",
        ])
        .args(["--consumption-scale", "0", "--verbose", "--state-file"])
        .arg(state_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let grpc = line
        .trim()
        .strip_prefix("listening ")
        .expect("first line: listening ADDR")
        .to_string();
    line.clear();
    out.read_line(&mut line).unwrap();
    let control = line
        .trim()
        .strip_prefix("control ")
        .expect("second line: control ADDR")
        .to_string();
    Sim {
        child,
        grpc,
        control,
    }
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    for _ in 0..100 {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    panic!("simulator did not exit");
}

async fn balance_and_token(grpc: &str, send_token: bool) -> flows_emop::Money {
    let mut client = EmliteMediatorServiceClient::connect(format!("http://{grpc}"))
        .await
        .unwrap();
    if send_token {
        client
            .write_element(WriteElementRequest {
                serial: "EML2200000001".to_string(),
                object_id: ObjectId::PREPAY_TOKEN_SEND.value() as i32,
                payload: TOKEN.to_vec(),
            })
            .await
            .unwrap();
    }
    let reply = client
        .read_element(ReadElementRequest {
            serial: "EML2200000001".to_string(),
            object_id: ObjectId::PREPAY_BALANCE.value() as i32,
        })
        .await
        .unwrap()
        .into_inner();
    decode(ObjectId::PREPAY_BALANCE, &reply.response)
        .unwrap()
        .money()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_used_tokens() {
    let dir = std::env::temp_dir().join(format!("sim-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("state.json");

    let mut first = spawn(&state);
    assert!(first.grpc.starts_with("127.0.0.1:") && first.control.starts_with("127.0.0.1:"));
    assert_eq!(balance_and_token(&first.grpc, true).await.to_string(), "6");
    // Killed hard right after the write: the state file already has it.
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    let mut second = spawn(&state);
    assert_eq!(
        balance_and_token(&second.grpc, true).await.to_string(),
        "6",
        "not applied twice"
    );
    let status = Command::new("kill")
        .args(["-TERM", &second.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        wait_exit(&mut second.child).success(),
        "clean exit on SIGTERM"
    );

    // The control port's shutdown also ends the process cleanly.
    let mut third = spawn(&state);
    let mut stream = std::net::TcpStream::connect(&third.control).unwrap();
    std::io::Write::write_all(&mut stream, b"shutdown\n").unwrap();
    let mut reply = String::new();
    BufReader::new(&stream).read_line(&mut reply).unwrap();
    assert_eq!(reply.trim(), "ok shutting down");
    assert!(wait_exit(&mut third.child).success());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn refuses_non_loopback_and_bad_arguments() {
    let out = Command::new(BIN)
        .args(["--listen", "0.0.0.0:0", "--generate", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
    let out = Command::new(BIN)
        .args(["--generate", "1", "--hardware", "Z9"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}
