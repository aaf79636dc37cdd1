//! The load generator of `make bench-serve` (benches/serve/run.py drives it): `serve_load URLS CLIENTS`
//! requests every URL of the file URLS (one per line, loopback only) once, from CLIENTS threads each on its
//! own keep-alive connection, and prints one JSON line: the count, the failures (any status but 200 or 204), the
//! wall time, the throughput and the latency percentiles in milliseconds. A fixed request count: it stops
//! by itself.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let [file, clients] = args.as_slice() else {
        eprintln!("usage: serve_load URLS_FILE CLIENTS");
        std::process::exit(2);
    };
    let urls: Vec<String> = std::fs::read_to_string(file).expect("the URL file").lines().map(str::to_string).collect();
    assert!(
        urls.iter().all(|u| u.starts_with("http://127.0.0.1:")),
        "serve_load only talks to loopback (http://127.0.0.1:PORT/…)"
    );
    let clients: usize = clients.parse().expect("CLIENTS is a number");
    let next = AtomicUsize::new(0);
    let start = Instant::now();
    let results: Vec<(Vec<Duration>, usize, u64)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..clients)
            .map(|_| {
                scope.spawn(|| {
                    let agent: ureq::Agent = ureq::Agent::config_builder()
                        .http_status_as_error(false)
                        .timeout_global(Some(Duration::from_secs(120)))
                        .build()
                        .into();
                    let (mut times, mut failed, mut bytes) = (Vec::new(), 0usize, 0u64);
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(url) = urls.get(i) else { break };
                        let t = Instant::now();
                        match agent.get(url).call() {
                            Ok(mut res) => {
                                // 204: an empty tile
                                let ok = res.status() == 200 || res.status() == 204;
                                let body =
                                    res.body_mut().with_config().limit(1 << 30).read_to_vec().unwrap_or_default();
                                bytes += body.len() as u64;
                                if !ok {
                                    failed += 1;
                                    if failed == 1 {
                                        eprintln!("{url}: {}", String::from_utf8_lossy(&body[..body.len().min(300)]));
                                    }
                                }
                            }
                            Err(e) => {
                                failed += 1;
                                eprintln!("{url}: {e}");
                            }
                        }
                        times.push(t.elapsed());
                    }
                    (times, failed, bytes)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let secs = start.elapsed().as_secs_f64();
    let mut times: Vec<f64> = results.iter().flat_map(|r| r.0.iter().map(|d| d.as_secs_f64() * 1000.0)).collect();
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times.get(((times.len() as f64 * p).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0.0);
    println!(
        "{{\"count\": {}, \"failed\": {}, \"bytes\": {}, \"seconds\": {secs:.3}, \"per_second\": {:.1}, \"p50_ms\": {:.2}, \"p95_ms\": {:.2}, \"p99_ms\": {:.2}}}",
        times.len(),
        results.iter().map(|r| r.1).sum::<usize>(),
        results.iter().map(|r| r.2).sum::<u64>(),
        times.len() as f64 / secs,
        pct(0.50),
        pct(0.95),
        pct(0.99)
    );
}
