//! sendRawMessage: profile logs walked over a day the way the reference
//! downloader does, decoded with flows-emop, and the event log.

mod common;

use common::{harness, M1, M2};
use flows_emop::time::{civil_from_days, EPOCH_2000_UNIX};
use flows_emop::{event_log, profile_log, three_phase_intervals, ObjectId};

/// Yesterday's UTC date.
fn yesterday() -> (i64, u32, u32) {
    let now = flows_mediator_sim::meter::now_secs() as i64 + EPOCH_2000_UNIX;
    civil_from_days(now.div_euclid(86_400) - 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_log_1_walks_a_day() {
    let h = harness(&[
        "--generate",
        "2",
        "--hardware",
        "C1.w,B1.w",
        "--latency-ms",
        "1",
        "--spacing-ms",
        "0",
    ])
    .await;
    let (y, m, d) = yesterday();
    let times = profile_log::day_request_times(y, m, d, 1, true);
    assert_eq!(times.len(), 12);
    let mut records = Vec::new();
    for t in &times {
        let request = profile_log::profile_log_1_request(*t);
        let reply = h.raw(M1, &request).await.unwrap();
        let decoded = profile_log::decode_log_1(&reply).unwrap();
        assert_eq!(decoded.request_timestamp, *t);
        records.extend(decoded.records);
    }
    assert_eq!(records.len(), 48);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.timestamp, times[0] + 1800 * i as u32);
        assert!(r.status.valid_data());
    }
    // Cumulative and rising on both elements of a twin meter.
    assert!(records
        .windows(2)
        .all(|w| w[1].import_a > w[0].import_a && w[1].import_b >= w[0].import_b));
    assert!(records[47].import_b > records[0].import_b);
    // Consistent with the live registers: below them, and the same value
    // whichever request returns a half hour.
    let live = h.shadow(M1).await["registers"]["import_a_wh"]
        .as_u64()
        .unwrap();
    assert!(u64::from(records[47].import_a) < live);
    let shifted = profile_log::decode_log_1(
        &h.raw(M1, &profile_log::profile_log_1_request(times[0] + 3600))
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(shifted.records[0], records[2]);
    // Single-element meters report element B as 0.
    let single = profile_log::decode_log_1(
        &h.raw(M2, &profile_log::profile_log_1_request(times[0]))
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(single
        .records
        .iter()
        .all(|r| r.import_b == 0 && r.import_a > 0));

    // A request past now: the meter has nothing yet, so the walk stops.
    let today_end = times[0] + 2 * 86_400;
    let future = profile_log::decode_log_1(
        &h.raw(M1, &profile_log::profile_log_1_request(today_end))
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(future.records[0].timestamp > today_end);
    h.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_log_2_twin_and_single() {
    let h = harness(&[
        "--generate",
        "2",
        "--hardware",
        "C1.w,EMA1.w",
        "--latency-ms",
        "1",
        "--spacing-ms",
        "0",
    ])
    .await;
    let (y, m, d) = yesterday();
    for (serial, twin, per_reply, requests) in [(M1, true, 2, 24), (M2, false, 3, 16)] {
        let times = profile_log::day_request_times(y, m, d, 2, twin);
        assert_eq!(times.len(), requests);
        let mut all = Vec::new();
        for t in times {
            let reply = h
                .raw(serial, &profile_log::profile_log_2_request(t))
                .await
                .unwrap();
            let decoded = profile_log::decode_log_2(&reply, twin).unwrap();
            assert_eq!(decoded.records.len(), per_reply);
            all.extend(decoded.records);
        }
        assert_eq!(all.len(), 48);
        assert!(all
            .windows(2)
            .all(|w| w[1].timestamp == w[0].timestamp + 1800));
        assert!(all
            .iter()
            .all(|r| r.status.valid_data() && (2000..2600).contains(&r.voltage)));
        assert_eq!(all[0].element_b.is_some(), twin);
    }
    h.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_log_pages_and_injected_events() {
    let h = harness(&["--generate", "1", "--latency-ms", "1", "--spacing-ms", "0"]).await;
    assert_eq!(
        h.ctl("event EML2200000001 10 3").await,
        "ok event 10 on 1 meters"
    );
    let mut previous = u32::MAX;
    for index in 0..10 {
        let reply = h
            .raw(M1, &event_log::event_log_request(index).unwrap())
            .await
            .unwrap();
        let page = event_log::decode_event_log(&reply).unwrap();
        assert_eq!(page.object_id, ObjectId::EVENT_LOG);
        assert_eq!(i64::from(page.read_write), index);
        for e in &page.events {
            assert!(e.timestamp <= previous, "newest first");
            previous = e.timestamp;
        }
        if index == 0 {
            assert_eq!((page.events[0].event_id, page.events[0].event_set), (10, 3));
            assert!(
                page.events.iter().any(|e| e.event_id == 38),
                "daily snapshot"
            );
        }
    }
    assert!(h.raw(M1, &[0x05, 0xff, 0xff, 0x49, 0x0a]).await.is_err());
    h.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_phase_intervals() {
    let h = harness(&[
        "--generate",
        "1",
        "--hardware",
        "P1.ax",
        "--latency-ms",
        "1",
        "--spacing-ms",
        "0",
    ])
    .await;
    let (y, m, d) = yesterday();
    let start = profile_log::day_request_times(y, m, d, 1, false)[0];
    let mut blocks = Vec::new();
    for hour in (0..24).step_by(4) {
        let request =
            three_phase_intervals::request(0, start + hour * 3600, start + (hour + 4) * 3600);
        blocks.push(
            three_phase_intervals::decode_block(&h.raw(M1, &request).await.unwrap()).unwrap(),
        );
    }
    assert!(blocks
        .iter()
        .all(|b| b.intervals.len() == 9 && b.interval_duration == 30));
    assert_eq!(
        blocks[0].channel_ids,
        [
            ObjectId::ACTIVE_IMPORT_DEMAND,
            ObjectId::ACTIVE_EXPORT_DEMAND
        ]
    );
    assert!(blocks[0]
        .intervals
        .iter()
        .all(|i| i.status.valid_data() && i.channel_data[0] >= 800));
    h.running.shutdown().await;
}
