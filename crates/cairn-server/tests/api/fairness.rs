//! Fair sharing (issue 24): a token over its request rate or its uploads in flight gets 429
//! with Retry-After; other tokens go on as before.

use cairn_core::Digest;
use cairn_store::Role;
use cairn_testkit::{TestServer, noise};
use futures::SinkExt;
use reqwest::StatusCode;

async fn whoami(s: &TestServer, token: &str) -> reqwest::Response {
    s.client
        .get(format!("{}/api/v1/whoami", s.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_token_over_its_rate_waits_and_others_do_not() {
    let s = TestServer::with_config(cairn_server::Config {
        token_rate: 5,
        ..cairn_server::Config::default()
    })
    .await;
    let busy = s.token("ent", Role::Read).await;
    let other = s.token("ent", Role::Read).await;
    // a burst of twice the rate passes, then the token is told when to come back
    let mut refused = None;
    for _ in 0..30 {
        let res = whoami(&s, &busy).await;
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(res);
            break;
        }
        assert_eq!(res.status(), StatusCode::OK);
    }
    let refused = refused.expect("30 requests at once never refused at 5 a second");
    assert_eq!(refused.headers()["retry-after"], "1");
    let detail = refused.text().await.unwrap();
    assert!(detail.contains("more than 5 requests a second"), "{detail}");
    assert_eq!(whoami(&s, &other).await.status(), StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(whoami(&s, &busy).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_token_with_its_uploads_in_flight_waits_and_others_do_not() {
    let s = TestServer::with_config(cairn_server::Config {
        token_uploads: 1,
        ..cairn_server::Config::default()
    })
    .await;
    let writer = s.token("ent", Role::Write).await;
    let put = |token: &str, data: Vec<u8>, body: reqwest::Body| {
        s.client
            .put(format!(
                "{}/api/v1/projects/ent/proj/blobs/{}",
                s.url,
                Digest::of(&data)
            ))
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_LENGTH, data.len())
            .body(body)
    };
    // one upload that stalls half-way…
    let slow = noise(1 << 20, 1);
    let (mut tx, rx) = futures::channel::mpsc::channel::<std::io::Result<Vec<u8>>>(2);
    tx.send(Ok(slow[..1 << 19].to_vec())).await.unwrap();
    let first = tokio::spawn(put(&writer, slow.clone(), reqwest::Body::wrap_stream(rx)).send());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // …so a second one of the same token is refused, another token's is not
    let data = noise(1000, 2);
    let res = put(&writer, data.clone(), data.clone().into())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()["retry-after"], "1");
    let other = s.token("ent", Role::Write).await;
    let res = put(&other, data.clone(), data.clone().into())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    // reads are not uploads
    assert_eq!(whoami(&s, &writer).await.status(), StatusCode::OK);
    tx.send(Ok(slow[1 << 19..].to_vec())).await.unwrap();
    drop(tx);
    assert_eq!(first.await.unwrap().unwrap().status(), StatusCode::CREATED);
    let more = noise(1000, 4);
    let res = put(&writer, more.clone(), more.into())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
}
