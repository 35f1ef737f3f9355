//! Hub lifecycle: an admin removes a hub; its jobs go back to the queue.

use axum::http::{Method, StatusCode};

use crate::api::{ADMIN, call, dispatch_body, register, state};

#[tokio::test]
async fn a_removed_hub_leaves_rotation_and_its_jobs_are_queued_again() {
    let (st, app) = state().await;
    register(&app, "east", 31.15, 121.12, 0.9).await;
    register(&app, "west", 35.73, 107.63, 0.4).await;
    // A batch job, scheduled by cost-slo at the cheaper west.
    let job = serde_json::json!({ "kind": "batch", "model": "deepseek-v3", "tokens": 1000, "deadline": "1h" });
    let (s, v) = call(&app, Method::POST, "/v1/jobs", None, Some(job.to_string())).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().expect("id").to_owned();
    tokengrid_serve::jobs::schedule_queued(&st, "cost-slo", 10)
        .await
        .expect("schedule");
    let row = st.ledger.job(&id).await.expect("ledger").expect("job");
    assert_eq!(row.hub.as_deref(), Some("west"));

    // Only the admin may remove a hub.
    let (s, _) = call(&app, Method::DELETE, "/v1/hubs/west", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = call(
        &app,
        Method::DELETE,
        "/v1/hubs/west",
        Some("not-the-admin"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = call(&app, Method::DELETE, "/v1/hubs/west", Some(ADMIN), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");

    // Gone from the listing and from decisions; its job is queued again, for the east.
    let (_, v) = call(&app, Method::GET, "/v1/hubs", None, None).await;
    let names: Vec<&str> = v
        .as_array()
        .expect("hubs")
        .iter()
        .map(|h| h["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["east"]);
    let (s, v) = call(
        &app,
        Method::POST,
        "/v1/dispatch",
        None,
        Some(dispatch_body(2000.0)),
    )
    .await;
    assert_eq!(
        (s, v["hub"].as_str()),
        (StatusCode::OK, Some("east")),
        "{v}"
    );
    let row = st.ledger.job(&id).await.expect("ledger").expect("job");
    assert_eq!(
        (row.state, row.hub.as_deref()),
        (tokengrid_serve::JobState::Queued, None)
    );
    tokengrid_serve::jobs::schedule_queued(&st, "cost-slo", 10)
        .await
        .expect("schedule");
    let row = st.ledger.job(&id).await.expect("ledger").expect("job");
    assert_eq!(row.hub.as_deref(), Some("east"));

    // Removing it again: 404; the name may be registered anew.
    let (s, v) = call(&app, Method::DELETE, "/v1/hubs/west", Some(ADMIN), None).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    register(&app, "west", 35.73, 107.63, 0.4).await;

    // A hub another replica removed (straight from the shared ledger) leaves this replica's
    // registry at its next refresh.
    assert!(st.ledger.delete_hub("east").await.expect("delete"));
    st.refresh().await.expect("refresh");
    assert_eq!(st.hubs_up(), ["west"]);
}
