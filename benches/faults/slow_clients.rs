//! Slow clients: many connections that send half a head or stall their body, more than
//! `server.max_connections`. `/healthz` must still answer `200` and `/readyz` answer at all (`503` past the
//! cap), a normal client must get through once the deadlines have cut the slow ones off, and every slow
//! connection must be closed by then.

use crate::hookarr::{Hookarr, config};
use crate::{Outcome, Scale};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub async fn run(scale: Scale) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &format!("sqlite://{}/hookarr.db", dir.path().display()),
        "http://127.0.0.1:9/unused",
        "    events: [\"health.*\"]\n",
    );
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "  listen: 127.0.0.1:0\n",
        "  listen: 127.0.0.1:0\n  header_timeout_secs: 3\n  body_timeout_secs: 3\n  max_connections: 256\n",
    );
    std::fs::write(&cfg, text).unwrap();
    let hookarr = Hookarr::start(&cfg, None);
    let addr = hookarr.base.trim_start_matches("http://").to_owned();
    let mut slow = Vec::new();
    for i in 0..scale.slow_clients {
        let Ok(mut s) = TcpStream::connect(&addr).await else {
            continue;
        };
        let head = if i % 2 == 0 {
            "POST /hooks/radarr HTTP/1.1\r\nHost: x\r\nX-Slow: ".to_owned()
        } else {
            format!(
                "POST /hooks/radarr?token={} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{{",
                hookarr.token
            )
        };
        let _ = s.write_all(head.as_bytes()).await;
        slow.push(s);
    }
    let opened = Instant::now();
    let health = hookarr.status_of("/healthz").await;
    let ready = hookarr.status_of("/readyz").await;
    // Past the deadlines every slow connection is closed (or answered 408) by the server.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let mut closed = 0;
    for s in &mut slow {
        let mut buf = [0u8; 512];
        match tokio::time::timeout(Duration::from_millis(200), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => closed += 1,
            Ok(Ok(n)) if String::from_utf8_lossy(&buf[..n]).contains(" 408 ") => closed += 1,
            Ok(Ok(n)) if String::from_utf8_lossy(&buf[..n]).contains(" 503 ") => closed += 1,
            _ => {}
        }
    }
    let post = hookarr.post(1).await.map(|(s, _)| s).unwrap_or(0);
    Outcome::new("slow clients", None)
        .note(format!(
            "{} half-sent requests (max_connections 256): /healthz {health}, /readyz {ready}; {closed} closed \
             {:.1} s later; then a normal post {post}",
            slow.len(),
            opened.elapsed().as_secs_f64()
        ))
        .check(health == 200, format!("/healthz answered {health} under slow clients"))
        .check(
            matches!(ready, 200 | 503),
            format!("/readyz answered {ready} under slow clients (200, or 503 past the cap)"),
        )
        .check(closed == slow.len(), format!("{} slow connections still open past the deadlines", slow.len() - closed))
        .check(post == 202, format!("a normal post after the slow clients got {post}"))
}
