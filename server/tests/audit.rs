//! The audit trail (`GET /api/v1/audit`) against the real binary: who changed what, from where,
//! before → after with secrets masked, refusals, and who may read which entries; on the real
//! swarm, a whole create → connect → move → delete story read back.

mod common;
mod stack;

use std::time::Duration;

use common::{expect_error, Client, Server, ADMIN_PASSWORD};
use serde_json::{json, Value};

async fn server() -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("SWITCHYARD_ADMIN_PASSWORD", ADMIN_PASSWORD)]).await;
    (server, dir)
}

async fn entries(c: &Client, query: &str) -> Vec<Value> {
    let r = c.get(&format!("/api/v1/audit{query}")).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    r.json().await.unwrap()
}

fn field<'a>(entry: &'a Value, name: &str) -> Option<&'a Value> {
    entry["resources"][0]["fields"].as_array()?.iter().find(|f| f["field"] == name)
}

#[tokio::test]
async fn changes_are_recorded_with_who_what_and_from_where_and_secrets_stay_secret() {
    let (server, _dir) = server().await;
    let admin = server.client();
    admin.login_ok("admin", ADMIN_PASSWORD).await;

    let pool: Value = admin.post("/api/v1/node-pools", json!({"name": "edge"})).await.json().await.unwrap();
    let pool_id = pool["id"].as_str().unwrap();
    let r = admin
        .patch(&format!("/api/v1/node-pools/{pool_id}"), json!({"name": "edge-2", "revision": pool["revision"]}))
        .await;
    assert_eq!(r.status(), 200);
    let r = admin.post("/api/v1/users", json!({"username": "alice", "password": "alice-secret-password"})).await;
    assert_eq!(r.status(), 201);
    let alice_id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    // A refused change is recorded with its reason, and changes nothing.
    let r = admin.post("/api/v1/node-pools", json!({"name": "edge-2"})).await;
    assert_eq!(r.status(), 409);
    // A login that fails, from another address.
    let stranger = server.client_from("127.0.0.7");
    assert_eq!(stranger.login("admin", "not-the-password").await.status(), 401);

    let all = entries(&admin, "").await;
    let actions: Vec<&str> = all.iter().map(|e| e["action"].as_str().unwrap()).collect();
    // Newest first: the failed login, the refused pool, the user, the rename, the pool, the login.
    assert_eq!(
        actions,
        vec![
            "POST /api/v1/auth/login",
            "POST /api/v1/node-pools",
            "POST /api/v1/users",
            "PATCH /api/v1/node-pools/{id}",
            "POST /api/v1/node-pools",
            "POST /api/v1/auth/login",
        ],
        "{all:#?}"
    );
    let (failed_login, refused, user, rename, created, login) = (&all[0], &all[1], &all[2], &all[3], &all[4], &all[5]);
    assert_eq!(login["actor"]["username"], "admin");
    assert_eq!(login["outcome"]["ok"], true);
    assert_eq!(failed_login["actor"]["kind"], "anonymous");
    assert_eq!(failed_login["address"], "127.0.0.7");
    assert_eq!(failed_login["outcome"]["status"], 401);
    assert_eq!(created["actor"]["kind"], "user");
    assert_eq!(created["via"], "api");
    assert_eq!(created["address"], "127.0.0.1");
    assert_eq!(created["resources"][0]["kind"], "node pool");
    assert_eq!(created["resources"][0]["change"], "created");
    assert_eq!(created["summary"], "created node pool 'edge'");
    let name = field(rename, "name").expect("the rename names the field");
    assert_eq!((name["before"].as_str(), name["after"].as_str()), (Some("\"edge\""), Some("\"edge-2\"")));
    assert_eq!(refused["outcome"]["ok"], false);
    assert_eq!(refused["outcome"]["status"], 409);
    assert!(refused["outcome"]["error"].as_str().unwrap().contains("edge-2"), "{refused}");
    assert!(refused["resources"].as_array().unwrap().is_empty());
    // The new user's password is neither in the clear nor hashed anywhere in the trail.
    let text = serde_json::to_string(&all).unwrap();
    assert!(!text.contains("alice-secret-password"), "{text}");
    assert!(!text.contains("$argon2"), "no password hash in the trail: {text}");
    assert_eq!(field(user, "password_hash").unwrap()["after"], "\"(secret)\"");

    // A change made with an API token names the token.
    let token: Value = admin.post("/api/v1/tokens", json!({"name": "ci"})).await.json().await.unwrap();
    let by_token = reqwest::Client::new()
        .post(admin.url("/api/v1/node-pools"))
        .bearer_auth(token["secret"].as_str().unwrap())
        .json(&json!({"name": "from-ci"}))
        .send()
        .await
        .unwrap();
    assert_eq!(by_token.status(), 201);
    let newest = &entries(&admin, "?per_page=1").await[0];
    assert_eq!(newest["actor"]["kind"], "token");
    assert_eq!(newest["actor"]["token_id"], token["token"]["id"]);
    assert!(!serde_json::to_string(&entries(&admin, "").await).unwrap().contains(token["secret"].as_str().unwrap()));

    // Filters and paging.
    let about_pool = entries(&admin, &format!("?resource_id={pool_id}")).await;
    assert_eq!(about_pool.len(), 2, "{about_pool:#?}");
    let r = admin.get("/api/v1/audit?per_page=2&page=2").await;
    assert_eq!(r.headers()["x-total-count"], "8");
    assert_eq!(r.json::<Vec<Value>>().await.unwrap().len(), 2);
    assert_eq!(entries(&admin, "?action=node-pools").await.len(), 4);
    assert!(entries(&admin, "?since=2999-01-01T00:00:00Z").await.is_empty());
    let e = expect_error(admin.get("/api/v1/audit?since=yesterday").await, 400, "bad_request").await;
    assert!(e["message"].as_str().unwrap().contains("since"), "{e}");

    // Alice reads what is about her (her account was created) and what she did, nothing else.
    let alice = server.client();
    alice.login_ok("alice", "alice-secret-password").await;
    let hers = entries(&alice, "").await;
    assert!(hers.iter().all(|e| e["owners"].as_array().unwrap().contains(&json!(alice_id))), "{hers:#?}");
    assert!(hers.iter().any(|e| e["action"] == "POST /api/v1/users"), "her account's creation: {hers:#?}");
    assert!(!hers.iter().any(|e| e["action"] == "POST /api/v1/node-pools"), "not the admin's pools: {hers:#?}");
    let admin_id = login["actor"]["user_id"].as_str().unwrap();
    expect_error(alice.get(&format!("/api/v1/audit?user_id={admin_id}")).await, 403, "forbidden").await;
}

#[tokio::test]
async fn a_create_connect_move_delete_story_is_read_back_from_the_trail() {
    if !stack::stack_here("a_create_connect_move_delete_story_is_read_back_from_the_trail") {
        return;
    }
    let s = stack::setup(&[]).await;
    let r = s.admin.post("/api/v1/users", json!({"username": "alice", "password": "alice-password"})).await;
    assert_eq!(r.status(), 201);
    let alice = s.server.client();
    alice.login_ok("alice", "alice-password").await;
    let pools: Vec<Value> = s.admin.get("/api/v1/node-pools").await.json().await.unwrap();
    let pool = json!({"kind": "node_pool", "pool_id": pools[0]["id"]});

    let sensor = stack::create(
        &alice,
        json!({"name": "story-sensor", "service_id": "sensor", "service_version": "1.0.0", "placement": pool,
               "environment": {"API_TOKEN": "do-not-log-me"}}),
    )
    .await;
    let counter = stack::create(
        &alice,
        json!({"name": "story-counter", "service_id": "counter", "service_version": "1.0.0", "placement": pool, "parameters": {"step": "1"}}),
    )
    .await;
    stack::wait_state(&alice, &sensor, "RUNNING", Duration::from_secs(120)).await;
    stack::wait_state(&alice, &counter, "RUNNING", Duration::from_secs(120)).await;
    let r = stack::connect(&alice, &counter, "counter/temperature", &sensor, "sensor/temperature").await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let connection = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let r = alice.post(&format!("/api/v1/processes/{counter}/move"), json!({"placement": {"kind": "automatic"}})).await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let r = alice.delete(&format!("/api/v1/processes/{counter}")).await;
    assert!(r.status().is_success(), "{}", r.status());
    stack::wait_gone(&alice, &counter, Duration::from_secs(60)).await;

    // Read back, oldest first: her account, her login, the two creates, the connect, the move,
    // the delete.
    let mut story: Vec<Value> = entries(&alice, "?per_page=100").await;
    story.reverse();
    assert_eq!(story[0]["action"], "POST /api/v1/users");
    assert_eq!(story[0]["actor"]["username"], "admin");
    story.remove(0);
    let actions: Vec<&str> = story.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        vec![
            "POST /api/v1/auth/login",
            "POST /api/v1/processes",
            "POST /api/v1/processes",
            "POST /api/v1/connections",
            "POST /api/v1/processes/{id}/move",
            "DELETE /api/v1/processes/{id}",
        ],
        "{story:#?}"
    );
    assert!(story.iter().all(|e| e["actor"]["username"] == "alice" && e["outcome"]["ok"] == true), "{story:#?}");
    let created = &story[1];
    assert_eq!(created["resources"][0]["id"], sensor.as_str());
    assert_eq!(created["summary"].as_str().unwrap().split(", ").next(), Some("created process 'story-sensor'"));
    let text = serde_json::to_string(&story).unwrap();
    assert!(!text.contains("do-not-log-me"), "a secret-looking variable is masked: {text}");
    assert!(story[3]["resource_ids"].as_array().unwrap().contains(&json!(connection)), "{:#?}", story[3]);
    let placement = field(&story[4], "placement").expect("the move names the placement");
    assert!(placement["after"].as_str().unwrap().contains("automatic"), "{placement}");
    assert!(story[5]["resource_ids"].as_array().unwrap().contains(&json!(counter)));
    // The process's own trail, as its page shows it.
    let of_counter = entries(&alice, &format!("?resource_id={counter}")).await;
    assert!(of_counter.len() >= 3, "create, move and delete of the counter: {of_counter:#?}");
    // The admin sees it all too; nobody else does.
    assert!(entries(&s.admin, &format!("?resource_id={counter}")).await.len() >= 3);
    let _ = alice.delete(&format!("/api/v1/processes/{sensor}")).await;
    stack::wait_gone(&alice, &sensor, Duration::from_secs(60)).await;
}
