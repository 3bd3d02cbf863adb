//! The control port over TCP, as a script drives it: one command a line,
//! one reply line each.

mod common;

use common::{harness, FAST, M1};
use flows_emop::{Money, ObjectId};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tonic::Code;

struct Port {
    lines: tokio::io::Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>,
    write: tokio::net::tcp::OwnedWriteHalf,
}

impl Port {
    async fn connect(addr: std::net::SocketAddr) -> Port {
        let (read, write) = TcpStream::connect(addr).await.unwrap().into_split();
        Port {
            lines: BufReader::new(read).lines(),
            write,
        }
    }

    async fn send(&mut self, line: &str) -> String {
        self.write
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
        self.lines.next_line().await.unwrap().unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_over_tcp() {
    let h = harness(&[&["--generate", "2", "--esco", "wlce"], FAST].concat()).await;
    let mut port = Port::connect(h.running.control_addr().unwrap()).await;

    let status = port.send("status").await;
    assert!(
        status.starts_with(&format!("ok listening {} meters 2", h.running.grpc_addr())),
        "{status}"
    );

    assert_eq!(
        port.send("set EML2200000001 balance 3.50").await,
        "ok set balance on 1 meters"
    );
    assert_eq!(h.balance(M1).await, Money::from_units(350_000));
    assert_eq!(port.send("set * csq 7").await, "ok set csq on 2 meters");
    assert_eq!(
        port.send("set EML2200000001 import_a 123456").await,
        "ok set import_a on 1 meters"
    );
    assert_eq!(
        port.send("set EML2200000001 drift -30").await,
        "ok set drift on 1 meters"
    );

    let state: Value = serde_json::from_str(&port.send("state EML2200000001").await).unwrap();
    assert_eq!(state["shadow"]["balance"], "3.5");
    assert_eq!(state["shadow"]["csq"], 7);
    assert_eq!(state["shadow"]["registers"]["import_a_wh"], 123_456);
    assert_eq!(state["shadow"]["clock"]["drift_seconds"], -30);
    assert_eq!(state["registry"]["esco"], "wlce");
    let reading = flows_emop::decode(
        ObjectId::READ_ELEMENT_A,
        &h.read(M1, ObjectId::READ_ELEMENT_A).await.unwrap(),
    )
    .unwrap()
    .registers()
    .unwrap();
    assert_eq!(reading.import_active, 123_456);

    assert_eq!(
        port.send("fault EML2200000001 busy once").await,
        "ok fault EML2200000001 busy 1"
    );
    assert_eq!(port.send("faults").await, "ok EML2200000001=busy 1");
    assert_eq!(
        h.read(M1, ObjectId::CSQ_NET_OP).await.unwrap_err().code(),
        Code::ResourceExhausted
    );

    assert_eq!(port.send("config latency 5").await, "ok latency 5 ms");
    assert!(port.send("status").await.contains("latency_ms 5"));

    let meters: Value = serde_json::from_str(&port.send("meters WLCE").await).unwrap();
    assert_eq!(meters.as_array().unwrap().len(), 2);

    assert_eq!(
        port.send("add EML2300000001 P1.ax 1.5 hmce").await,
        "ok added EML2300000001"
    );
    assert_eq!(h.balance("EML2300000001").await, Money::from_units(150_000));
    assert!(h
        .read("EML2300000001", ObjectId::HARDWARE_VERSION)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        port.send("remove EML2300000001").await,
        "ok removed EML2300000001"
    );
    assert_eq!(
        h.read("EML2300000001", ObjectId::CSQ_NET_OP)
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );

    assert_eq!(port.send("stop").await, "ok stopped");
    assert_eq!(
        h.read(M1, ObjectId::CSQ_NET_OP).await.unwrap_err().code(),
        Code::Unavailable
    );
    assert!(port.send("start").await.starts_with("ok listening"));

    assert!(port
        .send("fault EML2200000001 melt")
        .await
        .starts_with("error unknown fault"));
    assert!(port
        .send("set EML0000000000 csq 3")
        .await
        .starts_with("error meter EML0000000000 not known"));
    assert!(port
        .send("frobnicate")
        .await
        .starts_with("error unknown command"));
    assert!(port.send("help").await.starts_with("ok commands:"));
    assert_eq!(port.send("quit").await, "ok bye");
    assert!(
        port.lines.next_line().await.unwrap().is_none(),
        "closed after quit"
    );
    h.running.shutdown().await;
}
