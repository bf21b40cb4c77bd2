//! `GET /pastes` against the real binary: a client's own pastes, filters, paging, errors.

mod common;

use common::{Builder, FP, OTHER_FP, id};

#[tokio::test]
async fn listing_shows_own_pastes_with_filters_and_paging() {
    let d = Builder::new().spawn();
    let fp = ("x-ssl-client-sha1", FP);
    let png = [
        0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, b'I', b'H', b'D', b'R',
    ];
    let a = id(&d.create("a", &[fp]).await);
    let b = id(&d
        .create(png.to_vec(), &[fp, ("x-display-name", "pic")])
        .await);
    d.create("not mine", &[("x-ssl-client-sha1", OTHER_FP)])
        .await;
    d.create("anonymous", &[]).await;

    let all = d.req("GET", "/pastes", &[fp]).await.json();
    assert_eq!(all["total"], 2);
    assert_eq!(
        (all["limit"].as_i64(), all["offset"].as_i64()),
        (Some(100), Some(0))
    );
    let ids: Vec<&str> = all["pastes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&a.as_str()) && ids.contains(&b.as_str()),
        "{all}"
    );
    let item = all["pastes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == b.as_str())
        .unwrap();
    assert_eq!(item["mime_type"], "image/png");
    assert_eq!(item["display_name"], "pic");
    assert_eq!(item["owner"], FP);
    assert_eq!(item["burn_after_read"], false);
    assert_eq!(item["password_protected"], false);
    assert!(item["created_at"].is_i64() && item["expires_at"].is_i64());

    let images = d.req("GET", "/pastes?type=image/*", &[fp]).await.json();
    assert_eq!(images["total"], 1);
    let page = d.req("GET", "/pastes?limit=1&offset=1", &[fp]).await.json();
    assert_eq!(
        (
            page["pastes"].as_array().unwrap().len(),
            page["total"].as_i64()
        ),
        (1, Some(2))
    );
    let later = d.req("GET", "/pastes?after=4102444800", &[fp]).await.json();
    assert_eq!(later["total"], 0);
    let earlier = d
        .req("GET", "/pastes?before=4102444800", &[fp])
        .await
        .json();
    assert_eq!(earlier["total"], 2);
    let capped = d.req("GET", "/pastes?limit=5000", &[fp]).await.json();
    assert_eq!(capped["limit"], 1000);
}

#[tokio::test]
async fn listing_errors_follow_the_reference() {
    let d = Builder::new().spawn();
    let anon = d.req("GET", "/pastes", &[]).await;
    assert_eq!(
        (anon.status, anon.json()["error"].as_str()),
        (401, Some("Authentication required"))
    );
    let all = d
        .req("GET", "/pastes?all=1", &[("x-ssl-client-sha1", FP)])
        .await;
    assert_eq!(
        (all.status, all.json()["error"].as_str()),
        (403, Some("Admin access required"))
    );
    for q in ["limit=x", "limit=0", "offset=-1", "after=yesterday"] {
        let resp = d
            .req("GET", &format!("/pastes?{q}"), &[("x-ssl-client-sha1", FP)])
            .await;
        assert_eq!(resp.status, 400, "{q}");
    }
}
