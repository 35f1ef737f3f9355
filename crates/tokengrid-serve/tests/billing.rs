//! Billing-grade accounting over real sockets: an answer's last bytes reach the client only once
//! its ledger row is committed. With the ledger refusing writes, a streamed answer arrives up to
//! its closing `data: [DONE]` and a whole JSON answer not at all; both complete, recorded, once
//! the ledger takes the rows.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::http::StatusCode;
use http_body_util::BodyExt;
use tokengrid_serve::Clock;
use tokengrid_serve::store::Ledger;

use crate::sockets::{GANSU, chat, client, dispatcher_with, fake_hub, register, send, sse_events};

#[tokio::test]
async fn the_last_bytes_wait_for_the_row_to_be_committed() {
    let (st, d) = dispatcher_with(Duration::from_secs(3600), Clock::system(), |cfg| {
        cfg.billing_grade = true;
    })
    .await;
    let (hub, h) = fake_hub("gansu", false).await;
    let c = client();
    register(&c, d, "gansu", h, GANSU, 0.3).await;
    let Ledger::Sqlite(pool) = &st.ledger else {
        panic!("the test dispatcher uses SQLite");
    };
    sqlx::query("ALTER TABLE requests RENAME TO requests_away")
        .execute(pool)
        .await
        .expect("rename");

    // A stream: every event but the closing one arrives while the row cannot be written.
    let r = send(
        &c,
        "POST",
        format!("http://{d}/v1/chat/completions"),
        None,
        &[("accept", "text/event-stream")],
        chat(true),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let mut body = r.into_body();
    hub.release.notify_one();
    let mut got = Vec::new();
    while let Ok(Some(f)) = tokio::time::timeout(Duration::from_millis(500), body.frame()).await {
        got.extend_from_slice(f.expect("frame").data_ref().expect("data"));
    }
    let events = sse_events("gansu");
    let text = String::from_utf8(got.clone()).expect("utf-8");
    assert_eq!(text, events[..events.len() - 1].concat(), "all but [DONE]");

    // A whole JSON answer: nothing until its row is committed.
    let whole = tokio::spawn({
        let c = c.clone();
        async move {
            let r = send(
                &c,
                "POST",
                format!("http://{d}/v1/chat/completions"),
                None,
                &[],
                chat(false),
            )
            .await;
            r.into_body().collect().await.expect("body").to_bytes()
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !whole.is_finished(),
        "a whole answer ended before its row was written"
    );
    assert!(st.writer.failures.load(Ordering::Relaxed) >= 1);

    // The ledger takes rows again: both answers end, and both rows are there.
    sqlx::query("ALTER TABLE requests_away RENAME TO requests")
        .execute(pool)
        .await
        .expect("rename back");
    while let Some(f) = tokio::time::timeout(Duration::from_secs(20), body.frame())
        .await
        .expect("the stream ends once its row is written")
    {
        got.extend_from_slice(f.expect("frame").data_ref().expect("data"));
    }
    assert_eq!(String::from_utf8(got).expect("utf-8"), events.concat());
    let answer = tokio::time::timeout(Duration::from_secs(20), whole)
        .await
        .expect("the whole answer ends once its row is written")
        .expect("task");
    assert!(answer.starts_with(b"{"), "{answer:?}");
    let rows = st.ledger.requests(10).await.expect("rows");
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|r| r.complete && r.hub == "gansu"));
}
