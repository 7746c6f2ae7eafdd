//! Signing: the Standard Webhooks and `X-Hub-Signature-256` vectors, checked by a verifier written from the
//! spec, and signed deliveries on both databases.

use super::*;

/// A Standard Webhooks verifier written from the spec, independent of hookarr's signer: HMAC-SHA256 with the
/// base64-decoded secret over `{id}.{timestamp}.{body}`, any `v1,` entry may match, unknown versions ignored,
/// timestamps within 5 minutes.
pub(crate) fn verify_standard(
    secret: &str,
    id: &str,
    ts: &str,
    sigs: &str,
    body: &[u8],
    now: i64,
) -> bool {
    use base64::Engine;
    let Ok(ts_num) = ts.parse::<i64>() else {
        return false;
    };
    if (now - ts_num).abs() > 300 {
        return false;
    }
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    sigs.split(' ').any(|entry| {
        let Some(sig) = entry.strip_prefix("v1,") else {
            return false;
        };
        base64::engine::general_purpose::STANDARD
            .decode(sig)
            .is_ok_and(|s| s.len() == 32 && s[..] == expected[..])
    })
}

#[test]
fn the_independent_verifier_and_hookarrs_signer_agree_with_every_published_vector() {
    for corpus in Corpus::all() {
        signing_vectors_agree(&corpus);
    }
}

/// The Standard Webhooks and `X-Hub-Signature-256` vectors of one corpus (`signing/`).
fn signing_vectors_agree(corpus: &Corpus) {
    let path = corpus.dir.join("signing/standard-webhooks-vectors.json");
    let vectors: Vec<Value> = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert!(vectors.len() >= 5);
    for v in &vectors {
        let (secret, id, ts) = (
            v["secret"].as_str().unwrap(),
            v["msg_id"].as_str().unwrap(),
            v["timestamp"].as_i64().unwrap(),
        );
        let payload = v["payload"].as_str().unwrap().as_bytes();
        let sig = v["signature"].as_str().unwrap();
        assert!(
            verify_standard(secret, id, &ts.to_string(), sig, payload, ts),
            "verifier: {id}"
        );
        assert_eq!(
            hookarr::outbound::signing::standard_signature(secret, id, ts, payload).unwrap(),
            sig
        );
        // Negative cases of the reference suites.
        let flip = if &sig[3..4] == "A" { "B" } else { "A" };
        let tampered = format!("v1,{flip}{}", &sig[4..]);
        assert!(!verify_standard(
            secret,
            id,
            &ts.to_string(),
            &tampered,
            payload,
            ts
        ));
        assert!(!verify_standard(
            secret,
            id,
            &(ts + 1).to_string(),
            sig,
            payload,
            ts + 1
        ));
        assert!(!verify_standard(
            secret,
            id,
            &ts.to_string(),
            sig,
            payload,
            ts + 301
        ));
        assert!(!verify_standard(
            secret,
            id,
            &ts.to_string(),
            "v1,",
            payload,
            ts
        ));
        assert!(!verify_standard(
            secret,
            id,
            &ts.to_string(),
            &sig.replace("v1,", "v2,"),
            payload,
            ts
        ));
        let decoy = format!("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= {sig}");
        assert!(verify_standard(
            secret,
            id,
            &ts.to_string(),
            &decoy,
            payload,
            ts
        ));
    }
    let hub: Vec<Value> = serde_json::from_slice(
        &std::fs::read(corpus.dir.join("signing/hub-signature-256-vectors.json")).unwrap(),
    )
    .unwrap();
    for v in hub {
        let got = hookarr::outbound::signing::hub_signature(
            v["secret"].as_str().unwrap(),
            v["payload"].as_str().unwrap().as_bytes(),
        );
        assert_eq!(
            got,
            format!("sha256={}", v["hex_hmac_sha256"].as_str().unwrap())
        );
    }
}

async fn signed_webhook_delivery(backend: Backend) {
    let rx = Receiver::start().await;
    let d = dest(&format!(
        "name: hook\ntype: webhook\nurl: {}\nsecret: {SECRET}\nheaders: {{X-Custom: yes}}\n",
        rx.url("/in?k=1")
    ));
    let app = manual_app_with(backend, vec![d], |_| {}).await;
    let event_id = post_download(&app).await;
    let deliveries = settled(&app, &event_id).await;
    let got = rx.got();
    let req = &got[0];
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0]["status"], "succeeded");
    let delivery_id = deliveries[0]["id"].as_str().unwrap();
    assert_eq!(req.path, "/in");
    assert_eq!(req.query, "k=1");
    assert_eq!(
        req.header("webhook-id"),
        delivery_id,
        "webhook-id is the delivery id"
    );
    assert_eq!(req.header("content-type"), "application/json");
    assert_eq!(req.header("x-hookarr-event"), "library.new");
    assert_eq!(req.header("x-custom"), "yes");
    assert!(req.header("user-agent").starts_with("hookarr/"));
    let now = chrono::Utc::now().timestamp();
    assert!(verify_standard(
        SECRET,
        req.header("webhook-id"),
        req.header("webhook-timestamp"),
        req.header("webhook-signature"),
        &req.body,
        now
    ));
    assert!(!verify_standard(
        "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        req.header("webhook-id"),
        req.header("webhook-timestamp"),
        req.header("webhook-signature"),
        &req.body,
        now
    ));
    // The body is the stored envelope.
    let (_, stored) = app.api_get(&format!("/api/events/{event_id}")).await;
    let body = req.json();
    assert_eq!(body["id"], event_id);
    assert_eq!(body["data"], stored["data"]);
    assert_eq!(stored["deliveries"][0]["id"], delivery_id);
    // The attempt log.
    let (_, one) = app.api_get(&format!("/api/deliveries/{delivery_id}")).await;
    assert_eq!(one["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(one["attempts"][0]["status_code"], 204);
    assert_eq!(one["attempts"][0]["outcome"], "succeeded");
    app.stop().await;
}

both_backends!(signed_webhook_delivery);

#[tokio::test]
async fn hub_sha256_signing_uses_the_secret_text_and_the_exact_body() {
    let rx = Receiver::start().await;
    let d = dest(&format!(
        "name: hub\ntype: webhook\nurl: {}\nsigning: hub_sha256\nsecret: {SECRET}\n",
        rx.url("/gh")
    ));
    let app = manual_app_with(Backend::Sqlite, vec![d], |_| {}).await;
    post_download(&app).await;
    assert_eq!(app.deliver_pending().await, 1);
    let req = &rx.got()[0];
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(&req.body);
    assert_eq!(
        req.header("x-hub-signature-256"),
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    );
    assert!(req.header("x-hookarr-timestamp").parse::<i64>().is_ok());
    assert_eq!(req.header("webhook-signature"), "");
    app.stop().await;
}
