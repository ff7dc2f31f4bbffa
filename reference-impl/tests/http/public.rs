//! The public documents: manifest, state schema, OpenAPI (every route described).

use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

async fn get_public(tool: &Tool, path: &str) -> (StatusCode, Value) {
    tool.send(
        Request::get(path)
            .header("host", HOST)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn manifest_declares_the_sessions_block() {
    let tool = Tool::new();
    let (status, m) = get_public(&tool, "/oap/manifest").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(m["tool_did"], json!(tool.tool_did()));
    assert_eq!(m["oap_version"], json!("1.1"));
    assert_eq!(m["conformance_level"], json!("L4"));
    assert_eq!(m["auth"]["signature_window_seconds"], json!(300));
    let s = &m["sessions"];
    assert_eq!(s["supported"], json!(true));
    assert_eq!(s["concurrency_model"], json!("optimistic"));
    assert_eq!(s["max_sessions_per_convener"], json!(32));
    assert_eq!(
        s["state_schema"],
        json!(format!("http://{HOST}/oap/schemas/session-state.json"))
    );
}

#[tokio::test]
async fn state_schema_is_served_and_enforced() {
    let tool = Tool::new();
    let (status, schema) = get_public(&tool, "/oap/schemas/session-state.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        schema["$schema"],
        json!("https://json-schema.org/draft/2020-12/schema")
    );
    assert_eq!(schema["properties"]["conformance"]["type"], json!("object"));
}

#[tokio::test]
async fn openapi_describes_every_route() {
    for tool in [Tool::oap_only(), Tool::new()] {
        openapi_describes_every_route_of(&tool).await;
    }
}

async fn openapi_describes_every_route_of(tool: &Tool) {
    let (status, doc) = get_public(tool, "/oap/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let routes: Vec<_> = oap_ref::http::ROUTES
        .iter()
        .filter(|(_, path)| tool.state.amp || !path.starts_with(oap_ref::http::amp::PREFIX))
        .collect();
    for (method, path) in &routes {
        let op = &doc["paths"][*path][*method];
        assert!(op.is_object(), "{method} {path} is not described");
        assert!(
            op["responses"].is_object(),
            "{method} {path} has no responses"
        );
        if *method == "post" && !path.contains("openapi") {
            assert!(
                op["requestBody"].is_object(),
                "{method} {path} has no requestBody"
            );
        }
    }
    let described: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert_eq!(
        described,
        routes.len(),
        "the document describes routes the Tool lacks"
    );
    // Every $ref resolves.
    let text = doc.to_string();
    for part in text.split("\"$ref\":\"#/").skip(1) {
        let pointer = format!("/{}", &part[..part.find('"').unwrap()]);
        assert!(doc.pointer(&pointer).is_some(), "dangling $ref {pointer}");
    }
}
