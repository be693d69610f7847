//! `GET /api/v1/rules` and `GET /api/v1/alerts` with Prometheus' JSON shapes (feature
//! `http`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};

use crate::alert::{Alert, AlertState};
use crate::group::{Group, RuleHealth};
use crate::manager::Manager;
use crate::rule::Rule;
use crate::timefmt::rfc3339;

/// The rules and alerts endpoints over `m`.
pub fn router(m: Arc<Manager>) -> Router {
    Router::new()
        .route("/api/v1/rules", get(rules))
        .route("/api/v1/alerts", get(alerts))
        .with_state(m)
}

fn ok(data: Value) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "application/json")],
        json!({"status": "success", "data": data}).to_string(),
    )
}

fn labels_json<'a>(it: impl Iterator<Item = (&'a str, &'a str)>) -> Value {
    Value::Object(
        it.map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect(),
    )
}

/// Prometheus formats alert values with `strconv.FormatFloat(v, 'e', -1, 64)`.
fn value_string(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let s = format!("{v:e}");
    let (m, x) = s.split_once('e').unwrap_or((&s, "0"));
    let n: i32 = x.parse().unwrap_or(0);
    format!("{m}e{}{:02}", if n < 0 { '-' } else { '+' }, n.abs())
}

fn alert_json(a: &Alert) -> Value {
    let mut o = json!({
        "labels": labels_json(a.labels.iter().map(|l| (l.name.as_str(), l.value.as_str()))),
        "annotations": labels_json(a.annotations.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        "state": a.state.as_str(),
        "activeAt": rfc3339(a.active_at),
        "value": value_string(a.value),
    });
    if a.keep_firing_since != 0 {
        o["keepFiringSince"] = Value::String(rfc3339(a.keep_firing_since));
    }
    o
}

fn health_fields(o: &mut Value, h: &RuleHealth) {
    o["health"] = Value::String(h.health().into());
    o["lastError"] = Value::String(h.last_error.clone().unwrap_or_default());
    o["evaluationTime"] = json!(h.duration.as_secs_f64());
    o["lastEvaluation"] = Value::String(rfc3339(h.last_eval));
}

fn rule_json(r: &Rule, h: &RuleHealth) -> Value {
    let mut o = match r {
        Rule::Recording(rr) => json!({
            "name": rr.name,
            "query": rr.expr.to_string(),
            "labels": labels_json(rr.labels.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            "type": "recording",
        }),
        Rule::Alerting(a) => {
            let alerts: Vec<&Alert> = a
                .alerts()
                .into_iter()
                .filter(|x| x.state != AlertState::Inactive)
                .collect();
            let state = alerts
                .iter()
                .map(|x| x.state)
                .max()
                .unwrap_or(AlertState::Inactive);
            json!({
                "state": state.as_str(),
                "name": a.name,
                "query": a.expr.to_string(),
                "duration": a.for_ as f64 / 1000.0,
                "keepFiringFor": a.keep_firing_for as f64 / 1000.0,
                "labels": labels_json(a.labels.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
                "annotations": labels_json(a.annotations.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
                "alerts": alerts.iter().map(|x| alert_json(x)).collect::<Vec<_>>(),
                "type": "alerting",
            })
        }
    };
    health_fields(&mut o, h);
    o
}

fn group_json(g: &Group, kind: Option<&str>) -> Value {
    let rules: Vec<Value> = g
        .rules
        .iter()
        .zip(&g.health)
        .filter(|(r, _)| match kind {
            Some("alert") => matches!(r, Rule::Alerting(_)),
            Some("record") => matches!(r, Rule::Recording(_)),
            _ => true,
        })
        .map(|(r, h)| rule_json(r, h))
        .collect();
    json!({
        "name": g.name,
        "file": g.file.to_string_lossy(),
        "interval": g.interval as f64 / 1000.0,
        "limit": g.limit,
        "rules": rules,
        "evaluationTime": g.last_duration.as_secs_f64(),
        "lastEvaluation": rfc3339(g.last_eval),
    })
}

async fn rules(
    State(m): State<Arc<Manager>>,
    Query(q): Query<HashMap<String, String>>,
) -> impl IntoResponse {
    let kind = q.get("type").cloned();
    let groups = m.with_groups(|gs| {
        gs.iter()
            .map(|g| group_json(g, kind.as_deref()))
            .collect::<Vec<_>>()
    });
    ok(json!({ "groups": groups }))
}

async fn alerts(State(m): State<Arc<Manager>>) -> impl IntoResponse {
    let list = m.with_groups(|gs| {
        gs.iter()
            .flat_map(|g| g.alerting_rules())
            .flat_map(|a| a.alerts())
            .filter(|a| a.state != AlertState::Inactive)
            .map(alert_json)
            .collect::<Vec<_>>()
    });
    ok(json!({ "alerts": list }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_like_go() {
        assert_eq!(value_string(1.0), "1e+00");
        assert_eq!(value_string(0.25), "2.5e-01");
    }
}
