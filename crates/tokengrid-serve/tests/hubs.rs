//! Hub lifecycle: an admin removes a hub; its jobs go back to the queue.

use axum::http::{Method, StatusCode};

use std::time::Duration;

use tokengrid_serve::Clock;

use crate::api::{ADMIN, call, dispatch_body, register, state, state_at};

#[tokio::test]
async fn a_removed_hub_leaves_rotation_and_its_jobs_are_queued_again() {
    let (st, app) = state().await;
    register(&app, "east", 31.15, 121.12, 0.9).await;
    register(&app, "west", 35.73, 107.63, 0.4).await;
    // A batch job, scheduled by cost-slo at the cheaper west.
    let job = serde_json::json!({ "kind": "batch", "model": "deepseek-v3", "tokens": 1000, "deadline": "1h" });
    let (s, v) = call(
        &app,
        Method::POST,
        "/v1/jobs",
        Some(ADMIN),
        Some(job.to_string()),
    )
    .await;
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

#[tokio::test]
async fn an_admin_changes_a_registration_and_decisions_follow() {
    let (st, app) = state().await;
    register(&app, "east", 31.15, 121.12, 0.9).await;
    register(&app, "west", 35.73, 107.63, 0.4).await;
    let (_, v) = call(
        &app,
        Method::POST,
        "/v1/dispatch",
        None,
        Some(dispatch_body(2000.0)),
    )
    .await;
    assert_eq!(v["hub"], "west", "{v}");
    // The west's power gets dearer than the east's: cost-slo now takes the east.
    let patch = serde_json::json!({ "tariff_yuan_per_kwh": 1.5 }).to_string();
    let (s, _) = call(
        &app,
        Method::PATCH,
        "/v1/hubs/west",
        None,
        Some(patch.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, v) = call(
        &app,
        Method::PATCH,
        "/v1/hubs/west",
        Some(ADMIN),
        Some(patch),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["tariff_yuan_per_kwh"], 1.5);
    assert_eq!(v["lat"], 35.73, "unchanged fields stay: {v}");
    let (_, v) = call(
        &app,
        Method::POST,
        "/v1/dispatch",
        None,
        Some(dispatch_body(2000.0)),
    )
    .await;
    assert_eq!(v["hub"], "east", "{v}");
    // Stored: a fresh read of the ledger has it.
    let stored = st.ledger.hubs().await.expect("hubs");
    let west = stored.iter().find(|h| h.name == "west").expect("west");
    assert!(west.spec.contains("1.5"), "{}", west.spec);
    // Checked as a registration is; the name cannot change; unknown hubs are 404.
    for (body, what) in [
        (serde_json::json!({ "pue": 0.5 }), "pue"),
        (
            serde_json::json!({ "accelerators": { "TPU-v5p": 8 } }),
            "accelerator",
        ),
        (serde_json::json!({ "name": "north" }), "name"),
        (serde_json::json!({ "colour": "blue" }), "colour"),
        (serde_json::json!([1, 2]), "object"),
    ] {
        let (s, v) = call(
            &app,
            Method::PATCH,
            "/v1/hubs/west",
            Some(ADMIN),
            Some(body.to_string()),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{what}: {v}");
        assert!(
            v["message"].as_str().unwrap_or("").contains(what),
            "{what}: {v}"
        );
    }
    let (s, _) = call(
        &app,
        Method::PATCH,
        "/v1/hubs/nowhere",
        Some(ADMIN),
        Some("{}".into()),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// The live view feeds the policy grid CO2 as the simulator's does: `green` ranks by it.
#[tokio::test]
async fn green_ranks_live_hubs_by_the_co2_of_their_grid_power() {
    // MEE/NBS 2022 factors (g/kWh), as in the built-in scenario: Hebei 725.2, Sichuan 140.4.
    let hubs = [
        ("coal", 39.9, 116.4, 0.3, 725.2),
        ("hydro", 30.6, 104.1, 0.6, 140.4),
    ];
    let mut tokens = Vec::new();
    let mut apps = Vec::new();
    for policy in ["cost-slo", "green"] {
        let (_, app) = state_at(Duration::from_secs(30), Clock::system(), policy).await;
        for (name, lat, lon, tariff, co2) in hubs {
            let body = serde_json::json!({
                "name": name, "endpoint": "http://127.0.0.1:1", "lat": lat, "lon": lon,
                "models": ["deepseek-v3"], "accelerators": { "H800-SXM": 32 },
                "tariff_yuan_per_kwh": tariff, "pue": 1.2, "grid_carbon_g_per_kwh": co2
            });
            let (s, v) = call(
                &app,
                Method::POST,
                "/v1/hubs",
                Some(ADMIN),
                Some(body.to_string()),
            )
            .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            tokens.push((policy, name, v["token"].as_str().expect("token").to_owned()));
        }
        apps.push(app);
    }
    let chosen = |app: &axum::Router| {
        let app = app.clone();
        async move {
            let (_, v) = call(
                &app,
                Method::POST,
                "/v1/dispatch",
                None,
                Some(dispatch_body(2000.0)),
            )
            .await;
            v["hub"].as_str().unwrap_or("").to_owned()
        }
    };
    assert_eq!(
        chosen(&apps[0]).await,
        "coal",
        "cost-slo takes the cheaper power"
    );
    assert_eq!(
        chosen(&apps[1]).await,
        "hydro",
        "green takes the cleaner power"
    );
    // Telemetry overrides the registered figure: the hydro hub reports a dirty hour, and a
    // 90% green share at the coal hub leaves 72.5 g/kWh of grid CO2 there.
    for (policy, name, token) in &tokens {
        if *policy != "green" {
            continue;
        }
        let (co2, green) = if *name == "hydro" {
            (900.0, 0.0)
        } else {
            (725.2, 0.9)
        };
        let t = serde_json::json!({ "up": true, "queue_depth": 0, "free_replicas": 1,
            "tariff_yuan_per_kwh": 0.5, "green_fraction": green, "grid_carbon_g_per_kwh": co2 });
        let uri = format!("/v1/hubs/{name}/telemetry");
        let (s, v) = call(
            &apps[1],
            Method::PUT,
            &uri,
            Some(token),
            Some(t.to_string()),
        )
        .await;
        assert!(s.is_success(), "{s} {v}");
    }
    assert_eq!(chosen(&apps[1]).await, "coal");
}
