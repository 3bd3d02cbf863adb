//! Timing of energy_agg over 10 M time-ordered reads (pure Rust, no Postgres).
//! Run: CARGO_TARGET_DIR=/tmp/target-energy cargo test --release -p flows-energy
//!      --test bench -- --ignored --nocapture

use std::hint::black_box;
use std::time::Instant;

use flows_energy::{EnergyAgg, RegisterSpec, HALF_HOUR, MICRO_PER_KWH};

const N: usize = 10_000_000;

fn reads() -> Vec<(i64, i64)> {
    // Half-hourly reads of a 6-digit register starting near its maximum, so
    // the run contains rollovers as well as ordinary advances.
    let max = 1_000_000 * MICRO_PER_KWH - 1;
    let mut v = max - 500 * MICRO_PER_KWH;
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    (0..N)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v += (x % 2_000_000) as i64; // up to 2 kWh per half hour
            if v > max {
                v -= max + 1;
            }
            (i as i64 * HALF_HOUR, v)
        })
        .collect()
}

fn time<T>(label: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    let el = t.elapsed();
    println!(
        "{label:<32} {:>8.1} ms  {:>6.2} ns/read",
        el.as_secs_f64() * 1e3,
        el.as_nanos() as f64 / N as f64
    );
    out
}

#[test]
#[ignore = "timing: run in release with --ignored --nocapture"]
fn energy_agg_10m_ordered_reads() {
    let data = reads();
    let spec = RegisterSpec::new(1_000_000 * MICRO_PER_KWH - 1, 1000 * MICRO_PER_KWH).unwrap();
    for _ in 0..2 {
        let sum = time("baseline: sum of values", || {
            black_box(&data)
                .iter()
                .fold(0i64, |a, &(_, v)| a.wrapping_add(black_box(v)))
        });
        black_box(sum);
        let ordered = time("energy_agg ordered push+final", || {
            let mut agg = EnergyAgg::ordered(spec);
            for &(ts, v) in black_box(&data) {
                agg.push(ts, v).unwrap();
            }
            agg.finalize().unwrap().unwrap()
        });
        let buffered = time("energy_agg buffered push+final", || {
            let mut agg = EnergyAgg::buffered(spec);
            for &(ts, v) in black_box(&data) {
                agg.push(ts, v).unwrap();
            }
            agg.finalize().unwrap().unwrap()
        });
        assert_eq!(ordered, buffered);
        assert_eq!(ordered.reads, N as u64);
        assert!(ordered.rollovers > 0);
    }
}
