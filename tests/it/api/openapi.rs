//! `GET /api/openapi.json`: a valid OpenAPI 3.1 document (checked by `roas`, an independent validator), that
//! lists every route the router serves with who may call it, and whose schemas the real answers keep to
//! ([`Documented::check`], run on every answer of the auth matrix in `access.rs`).

use super::*;
use crate::helpers::Backend;
use hookarr::api::{Access, Route};

/// The document as served, to check answers against.
pub struct Documented {
    doc: Value,
}

impl Documented {
    /// Fetches the document from `app`, without a key (anyone may read it).
    pub async fn of(app: &TestApp) -> Documented {
        let resp = app
            .client
            .get(format!("{}/api/openapi.json", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let media = resp.headers()[reqwest::header::CONTENT_TYPE].clone();
        assert_eq!(media, "application/json");
        Documented {
            doc: resp.json().await.unwrap(),
        }
    }

    /// The document this build serves, without a server.
    pub fn built() -> Documented {
        Documented {
            doc: serde_json::from_str(hookarr::api::openapi_document()).unwrap(),
        }
    }

    /// The route of the table at `method` `path`.
    pub fn route(method: Method, path: &str) -> Route {
        hookarr::api::route_table()
            .into_iter()
            .find(|r| r.method == method && r.path == path)
            .unwrap_or_else(|| panic!("{method} {path} is not in the route table"))
    }

    /// Asserts that `value` keeps to the component schema `name` (`Event`, `DeliveryBody`…).
    pub fn check_schema(&self, name: &str, value: &Value) {
        let schema = json!({"$ref": format!("#/components/schemas/{name}")});
        assert!(
            self.doc["components"]["schemas"][name].is_object(),
            "no schema {name}"
        );
        self.validate(&schema, value, name);
    }

    fn validate(&self, schema: &Value, body: &Value, what: &str) {
        let root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": strict(&self.doc["components"]),
            "allOf": [closed(schema.clone())],
        });
        let validator = jsonschema::draft202012::new(&root)
            .unwrap_or_else(|e| panic!("{what}: its schema does not compile: {e}"));
        let problems: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            problems.is_empty(),
            "{what}: a body its document does not describe:\n{}\n{body}",
            problems.join("\n")
        );
    }

    fn operation(&self, method: &Method, path: &str) -> &Value {
        let op = &self.doc["paths"][path][method.as_str().to_lowercase()];
        assert!(op.is_object(), "{method} {path} is not in the document");
        op
    }

    /// Asserts that the document lists `status` for the route and that `body` keeps to its schema: every
    /// field it requires, of its type, and no field it does not name.
    pub fn check(&self, route: &Route, status: StatusCode, body: &Value) {
        let what = format!("{} {}", route.method, route.path);
        let op = self.operation(&route.method, route.path);
        let response = &op["responses"][status.as_str()];
        assert!(
            response.is_object(),
            "{what} answered {status}, which its document does not list: {body}"
        );
        let Some(schema) = response["content"]["application/json"].get("schema") else {
            return; // No JSON body documented: text, an event stream, or nothing.
        };
        self.validate(schema, body, &format!("{what} answered {status}"));
    }
}

/// The components with every object schema closed to fields it does not name — except those another
/// schema extends with `allOf` (a closed part would refuse the fields the other part adds).
fn strict(components: &Value) -> Value {
    let mut components = components.clone();
    let extended: Vec<String> = components["schemas"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|name| {
            // Referenced from inside an `allOf` somewhere.
            components["schemas"]
                .as_object()
                .unwrap()
                .values()
                .filter_map(|s| s.get("allOf"))
                .any(|all| all.to_string().contains(&format!("/{name}\"")))
        })
        .cloned()
        .collect();
    for (name, schema) in components["schemas"].as_object_mut().unwrap() {
        if !extended.contains(name) {
            *schema = closed(schema.take());
        }
    }
    components
}

/// An object schema (or an `allOf` of them) that refuses fields it does not name.
fn closed(mut schema: Value) -> Value {
    let is_object = schema.get("properties").is_some() || schema.get("allOf").is_some();
    if is_object && schema.get("additionalProperties").is_none() {
        schema["unevaluatedProperties"] = json!(false);
    }
    schema
}

async fn the_document_is_valid_openapi_3_1(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let served = Documented::of(&app).await.doc;
    assert_eq!(served["openapi"], "3.1.0");
    let spec: roas::v3_1::spec::Spec = serde_json::from_value(served.clone())
        .unwrap_or_else(|e| panic!("the document does not parse as OpenAPI 3.1: {e}"));
    use roas::validation::Validate;
    // Every check on: refs resolve, operation ids unique, tags declared, nothing unused.
    if let Err(e) = spec.validate(Default::default(), None) {
        panic!("the document is not valid OpenAPI 3.1:\n{e}");
    }
    // The same document under `/api/v1`.
    let (s, v1) = app
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v1, served);
    app.stop().await;
}

both_backends!(the_document_is_valid_openapi_3_1);

/// Each route of the table is in the document with its access, its security and its answers; the document
/// has nothing else; and each operation it lists is one the server really routes (not its "no route" 404).
async fn it_lists_every_route_the_router_has(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let documented = Documented::of(&app).await;
    let doc = &documented.doc;
    let table = hookarr::api::route_table();
    let mut listed = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, _) in item.as_object().unwrap() {
            let method: Method = method.to_uppercase().parse().unwrap();
            assert!(
                table.iter().any(|r| r.method == method && r.path == path),
                "{method} {path} is documented but not in the route table"
            );
            listed += 1;
        }
    }
    assert_eq!(listed, table.len(), "one operation per route");
    for route in &table {
        let what = format!("{} {}", route.method, route.path);
        let op = documented.operation(&route.method, route.path);
        assert_eq!(op["x-hookarr-access"], route.access.as_str(), "{what}");
        assert_eq!(op["summary"], route.summary, "{what}");
        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{what} documents no success: {responses:?}"
        );
        let error_ref = json!({"$ref": "#/components/schemas/Error"});
        for (status, response) in responses {
            if status.starts_with('4') || status == "503" && route.path != "/readyz" {
                assert_eq!(
                    response["content"]["application/json"]["schema"], error_ref,
                    "{what}: {status} is the error body"
                );
            }
        }
        let security = op["security"].as_array().unwrap();
        match route.access {
            Access::Anyone => assert!(security.is_empty(), "{what}: {security:?}"),
            Access::Source => assert_eq!(security[0], json!({"sourceToken": []}), "{what}"),
            _ => {
                assert_eq!(security[0], json!({"apiKey": []}), "{what}");
                assert!(responses.contains_key("401"), "{what}: 401 without a key");
            }
        }
        if matches!(route.access, Access::Admin | Access::LoopbackOrAdmin) {
            assert!(responses.contains_key("403"), "{what}: 403 for a user");
        }
        if route.path.contains('{') {
            assert!(
                responses.contains_key("404"),
                "{what}: 404 for no such object"
            );
            let params = op["parameters"].as_array().unwrap();
            assert!(
                params.iter().any(|p| p["in"] == "path"),
                "{what}: its path parameter"
            );
        }

        // The server routes it: anything but the router's own "no route" or "no such method".
        let concrete = route.path.replace(['{', '}'], "");
        let mut paths = vec![concrete.clone()];
        if route.is_api() {
            paths.push(concrete.replacen("/api", "/api/v1", 1));
        }
        for path in paths {
            let resp = app
                .client
                .request(route.method.clone(), format!("{}{path}", app.base))
                .header("accept", "application/json")
                .timeout(std::time::Duration::from_secs(10))
                .send()
                .await
                .unwrap();
            let status = resp.status();
            let text = resp.text().await.unwrap_or_default();
            assert!(
                status != StatusCode::METHOD_NOT_ALLOWED && !text.contains("no route for"),
                "{} {path}: documented but not routed ({status} {text})",
                route.method
            );
        }
    }
    // The probe can tell: a path the router does not have answers its "no route".
    let (s, b) = app.call(Method::GET, "/api/nothing-here", None, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no route for")
    );
    app.stop().await;
}

both_backends!(it_lists_every_route_the_router_has);

/// The document says what the error codes are, and an error answered keeps to it.
#[tokio::test]
async fn error_bodies_keep_to_the_documented_error_schema() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let documented = Documented::of(&app).await;
    let codes = &documented.doc["components"]["schemas"]["ErrorCode"]["enum"];
    for code in [
        "validation_failed",
        "unauthorized",
        "not_found",
        "webhook_limit_reached",
    ] {
        assert!(
            codes.as_array().unwrap().contains(&json!(code)),
            "{code} in {codes}"
        );
    }
    let table = hookarr::api::route_table();
    let route = |m: Method, p: &str| {
        table
            .iter()
            .find(|r| r.method == m && r.path == p)
            .unwrap()
            .clone()
    };
    let (s, b) = app
        .call(
            Method::POST,
            "/api/webhooks",
            Some(ADMIN_KEY),
            Some(&json!({"url": "ftp://x"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    documented.check(&route(Method::POST, "/api/webhooks"), s, &b);
    let (s, b) = app
        .call(Method::GET, "/api/webhooks/wh_nope", Some(ADMIN_KEY), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    documented.check(&route(Method::GET, "/api/webhooks/{id}"), s, &b);
    app.stop().await;
}

/// The check of answers against the document can fail: a field it does not name, a field it requires left
/// out, a value of the wrong type, a status it does not list.
#[tokio::test]
async fn the_answer_check_refuses_what_the_document_does_not_describe() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let documented = Documented::of(&app).await;
    let table = hookarr::api::route_table();
    let healthz = table.iter().find(|r| r.path == "/healthz").unwrap();
    let hook = table
        .iter()
        .find(|r| r.path == "/api/webhooks/{id}")
        .unwrap();
    documented.check(healthz, StatusCode::OK, &json!({"status": "ok"}));
    let refused = |route: &Route, status: StatusCode, body: Value| {
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            documented.check(route, status, &body)
        }));
        assert!(caught.is_err(), "{} {status} {body} passed", route.path);
    };
    refused(healthz, StatusCode::OK, json!({"status": "ok", "extra": 1}));
    refused(healthz, StatusCode::OK, json!({}));
    refused(healthz, StatusCode::OK, json!({"status": 1}));
    refused(healthz, StatusCode::IM_A_TEAPOT, json!({"status": "ok"}));
    refused(
        hook,
        StatusCode::NOT_FOUND,
        json!({"error": {"code": "no_such_code", "message": "", "details": []}}),
    );
    app.stop().await;
}

/// With something in every list — a delivered event with its attempts and raw body, a rejected body, a mock
/// that received a signed request, figures in the stats, lines in the audit log — each answer keeps to its
/// documented schema (the matrix in `access.rs` sees most of these lists empty).
async fn answers_with_data_keep_to_their_schemas(backend: Backend) {
    let rx = crate::receiver::Receiver::start().await;
    let ops = rx.url("/ops");
    let app = TestApp::spawn_with(backend, |c| {
        c.api.allow_private_targets = true;
        c.destinations = vec![
            serde_norway::from_str(&format!("{{name: ops, type: webhook, url: '{ops}'}}")).unwrap(),
        ];
    })
    .await;
    let documented = Documented::of(&app).await;
    let alice = member(&app, "alice").await;
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let mock = mock_checking(&app, &alice.key, secret).await;
    let hook = register(
        &app,
        &alice.key,
        json!({"url": mock["url"], "events": ["library.*"], "secret": secret, "headers": {"X-Team": "a"}}),
    )
    .await;
    let (s, posted) = app
        .post_hook("radarr", &crate::helpers::fixture("radarr", "download"))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let receive = Documented::route(Method::POST, "/hooks/{source}");
    documented.check(&receive, s, &posted);
    let event = posted["events"][0].as_str().unwrap().to_owned();
    let (s, again) = app
        .post_hook("radarr", &crate::helpers::fixture("radarr", "download"))
        .await;
    assert_eq!(
        s,
        StatusCode::OK,
        "the same body again is a duplicate: {again}"
    );
    documented.check(&receive, s, &again);
    let (s, refused) = app.post_hook("radarr", b"{\"eventType\": 7").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    documented.check(&receive, s, &refused);
    let done = |p: &Value| {
        let items = p["items"].as_array().unwrap();
        items.len() == 2 && items.iter().all(|d| d["status"] == "succeeded")
    };
    app.wait_api(&format!("/api/deliveries?event={event}"), done)
        .await;

    let mock_id = mock["id"].as_str().unwrap();
    let hook_id = hook["id"].as_str().unwrap();
    let (_, deliveries) = app
        .call(Method::GET, "/api/deliveries", Some(ADMIN_KEY), None)
        .await;
    let delivery = deliveries["items"][0]["id"].as_str().unwrap().to_owned();
    let calls = [
        (
            Method::GET,
            "/api/events",
            "/api/events".to_owned(),
            ADMIN_KEY,
        ),
        (
            Method::GET,
            "/api/events/{id}",
            format!("/api/events/{event}?raw=true"),
            ADMIN_KEY,
        ),
        (
            Method::GET,
            "/api/rejected",
            "/api/rejected".to_owned(),
            ADMIN_KEY,
        ),
        (
            Method::GET,
            "/api/deliveries",
            "/api/deliveries".to_owned(),
            ADMIN_KEY,
        ),
        (
            Method::GET,
            "/api/deliveries/{id}",
            format!("/api/deliveries/{delivery}"),
            ADMIN_KEY,
        ),
        (
            Method::GET,
            "/api/destinations",
            "/api/destinations".to_owned(),
            ADMIN_KEY,
        ),
        (
            Method::GET,
            "/api/stats",
            "/api/stats".to_owned(),
            ADMIN_KEY,
        ),
        (
            Method::GET,
            "/api/audit",
            "/api/audit".to_owned(),
            ADMIN_KEY,
        ),
        (
            Method::GET,
            "/api/users",
            "/api/users".to_owned(),
            ADMIN_KEY,
        ),
        (Method::GET, "/api/keys", "/api/keys".to_owned(), ADMIN_KEY),
        (
            Method::GET,
            "/api/webhooks",
            "/api/webhooks".to_owned(),
            &alice.key,
        ),
        (
            Method::GET,
            "/api/webhooks/{id}",
            format!("/api/webhooks/{hook_id}"),
            &alice.key,
        ),
        (
            Method::GET,
            "/api/mocks",
            "/api/mocks".to_owned(),
            &alice.key,
        ),
        (
            Method::GET,
            "/api/mocks/{id}/requests",
            format!("/api/mocks/{mock_id}/requests"),
            &alice.key,
        ),
        (
            Method::POST,
            "/api/templates/preview",
            "/api/templates/preview".to_owned(),
            ADMIN_KEY,
        ),
        (Method::GET, "/readyz", "/readyz".to_owned(), ADMIN_KEY),
    ];
    for (method, template, path, key) in calls {
        let body =
            (method == Method::POST).then(|| json!({"destination": "ops", "event_id": event}));
        let (s, b) = app
            .call(method.clone(), &path, Some(key), body.as_ref())
            .await;
        assert_eq!(s, StatusCode::OK, "{method} {path}: {b}");
        if let Some(items) = b.get("items") {
            assert!(
                !items.as_array().unwrap().is_empty(),
                "{path}: something to check: {b}"
            );
        }
        documented.check(&Documented::route(method, template), s, &b);
    }
    // The parts that are often absent are here.
    let (_, one) = app
        .call(
            Method::GET,
            &format!("/api/deliveries/{delivery}"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert!(!one["attempts"].as_array().unwrap().is_empty(), "{one}");
    let (_, with_raw) = app
        .call(
            Method::GET,
            &format!("/api/events/{event}?raw=true"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert!(with_raw["raw"]["body"].is_string(), "{with_raw}");
    app.stop().await;
}

both_backends!(answers_with_data_keep_to_their_schemas);
