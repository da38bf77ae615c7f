//! The office's people and integrations over HTTPS (issue 13, docs/hq-accounts.md): each
//! role does what it may and is refused the rest, a change needs the session's CSRF token,
//! a cookie acts only as its own person, waits follow failed logins, API tokens act
//! within their scopes until revoked, and the audit log says who did what.

mod common;

use common::*;
use onsite_api::routes;
use onsite_hq::office as o;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A signed-in person: their cookie and CSRF token.
struct Person {
    cookie: String,
    csrf: String,
}

async fn add_user(hq: &Hq, name: &str, role: &str) -> Value {
    hq.admin_ok(
        Method::POST,
        o::ADMIN_USERS,
        Some(
            &json!({"username": name, "display_name": name, "role": role,
                     "password": format!("{name} has a long password")}),
        ),
    )
    .await
}

async fn login(hq: &Hq, name: &str, password: &str) -> reqwest::Response {
    hq.client
        .post(hq.url(o::CONSOLE_LOGIN))
        .json(&json!({"username": name, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn sign_in(hq: &Hq, name: &str) -> Person {
    let res = login(hq, name, &format!("{name} has a long password")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let set = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    for part in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(part), "{set}");
    }
    let cookie = onsite_hq::accounts::session_from_cookies(set.split(';').next().unwrap())
        .unwrap()
        .to_owned();
    let me: Value = res.json().await.unwrap();
    Person {
        cookie,
        csrf: me["csrf"].as_str().unwrap().to_owned(),
    }
}

/// A request as `p` (with the CSRF token when `csrf`).
async fn as_person(
    hq: &Hq,
    p: &Person,
    method: Method,
    path: &str,
    body: Option<Value>,
    csrf: bool,
) -> reqwest::Response {
    let mut req = hq.client.request(method, hq.url(path)).header(
        "cookie",
        format!("{}={}", onsite_hq::accounts::SESSION_COOKIE, p.cookie),
    );
    if csrf {
        req = req.header(onsite_hq::accounts::CSRF_HEADER, &p.csrf);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

async fn code(res: reqwest::Response) -> (StatusCode, String) {
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

fn work_order_body(order_no: &str, technician: uuid::Uuid) -> Value {
    serde_json::to_value(new_work_order(order_no, Some(technician))).unwrap()
}

async fn each_role_does_what_it_may_and_changes_need_the_csrf_token() {
    let hq = start().await;
    let tech = hq.technician("张师傅").await;
    let other = hq.technician("王师傅").await;
    add_user(&hq, "dispatch.li", "dispatcher").await;
    add_user(&hq, "finance.wu", "finance").await;
    let li = sign_in(&hq, "dispatch.li").await;
    let wu = sign_in(&hq, "finance.wu").await;

    // The dispatcher makes and reassigns a job, with the CSRF token only.
    let (status, c) = code(
        as_person(
            &hq,
            &li,
            Method::POST,
            routes::ADMIN_WORK_ORDERS,
            Some(work_order_body("OF-1", tech)),
            false,
        )
        .await,
    )
    .await;
    assert_eq!((status, c.as_str()), (StatusCode::FORBIDDEN, "forbidden"));
    let res = as_person(
        &hq,
        &li,
        Method::POST,
        routes::ADMIN_WORK_ORDERS,
        Some(work_order_body("OF-1", tech)),
        true,
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let wo: Value = res.json().await.unwrap();
    let reassign = routes::ADMIN_WORK_ORDER_REASSIGN.replace("{id}", wo["id"].as_str().unwrap());
    let body = json!({"technician_id": other});
    let res = as_person(&hq, &li, Method::POST, &reassign, Some(body.clone()), true).await;
    assert_eq!(res.status(), StatusCode::OK);
    // ...but reads no audit log and takes no export.
    for path in [o::ADMIN_AUDIT, routes::ADMIN_EXPORT] {
        let (status, _) = code(as_person(&hq, &li, Method::GET, path, None, false).await).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }

    // Finance cannot reassign, and exports.
    let (status, _) =
        code(as_person(&hq, &wu, Method::POST, &reassign, Some(body), true).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let res = as_person(&hq, &wu, Method::GET, routes::ADMIN_EXPORT, None, false).await;
    assert_eq!(res.status(), StatusCode::OK);

    // A cookie acts as its own person only; a made-up one as nobody.
    let me: Value = as_person(&hq, &wu, Method::GET, o::CONSOLE_ME, None, false)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"]["username"], "finance.wu");
    assert_eq!(
        me["permissions"],
        json!(["read_jobs", "export", "reference"])
    );
    let forged = Person {
        cookie: "onsite_0000".into(),
        csrf: li.csrf.clone(),
    };
    let (status, _) =
        code(as_person(&hq, &forged, Method::GET, o::CONSOLE_ME, None, false).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Another person's CSRF token does not do.
    let mixed = Person {
        cookie: wu.cookie.clone(),
        csrf: li.csrf.clone(),
    };
    let (status, _) =
        code(as_person(&hq, &mixed, Method::POST, o::CONSOLE_LOGOUT, None, true).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Signing out ends the session.
    let res = as_person(&hq, &li, Method::POST, o::CONSOLE_LOGOUT, None, true).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let (status, _) =
        code(as_person(&hq, &li, Method::GET, o::CONSOLE_ME, None, false).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The audit log (administrators): who signed in, who changed what, who exported.
    let log: Vec<Value> = hq
        .admin_ok::<(), _>(Method::GET, o::ADMIN_AUDIT, None)
        .await;
    let said: Vec<String> = log
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["actor"]["username"].as_str().unwrap_or("-"),
                e["action"].as_str().unwrap()
            )
        })
        .collect();
    for expected in [
        "dispatch.li sign_in".to_string(),
        format!("dispatch.li POST {}", routes::ADMIN_WORK_ORDERS),
        format!("dispatch.li POST {}", routes::ADMIN_WORK_ORDER_REASSIGN),
        format!("finance.wu GET {}", routes::ADMIN_EXPORT),
    ] {
        assert!(said.contains(&expected), "{expected} not in {said:?}");
    }
    // Nothing refused is recorded as done, and no customer data is in the log.
    assert!(
        !said.iter().any(|s| s.starts_with("finance.wu POST")),
        "{said:?}"
    );
    let text = serde_json::to_string(&log).unwrap();
    assert!(
        !text.contains("Secretname") && !text.contains("139-1234"),
        "{text}"
    );
}

async fn failed_logins_wait_and_disabled_people_are_out() {
    let hq = start().await;
    let user = add_user(&hq, "guess.me", "dispatcher").await;
    for _ in 0..3 {
        let (status, c) = code(login(&hq, "guess.me", "wrong password!").await).await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::UNAUTHORIZED, "bad_login")
        );
    }
    // An unknown name is refused the same way.
    let (status, c) = code(login(&hq, "nobody.here", "wrong password!").await).await;
    assert_eq!(
        (status, c.as_str()),
        (StatusCode::UNAUTHORIZED, "bad_login")
    );
    // After three failures even the right password waits.
    let res = login(&hq, "guess.me", "guess.me has a long password").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));

    // A disabled person's session ends at once.
    let other = add_user(&hq, "leaving.soon", "finance").await;
    let p = sign_in(&hq, "leaving.soon").await;
    let _: Value = hq
        .admin_ok::<(), _>(
            Method::POST,
            &o::ADMIN_USER_DISABLE.replace("{id}", other["id"].as_str().unwrap()),
            None,
        )
        .await;
    let (status, _) = code(as_person(&hq, &p, Method::GET, o::CONSOLE_ME, None, false).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) =
        code(login(&hq, "leaving.soon", "leaving.soon has a long password").await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let _ = user;
}

async fn api_tokens_act_within_their_scopes_until_revoked() {
    let hq = start().await;
    let made: Value = hq
        .admin_ok(
            Method::POST,
            o::ADMIN_API_TOKENS,
            Some(&json!({"name": "ERP", "scopes": ["export"]})),
        )
        .await;
    let token = made["token"].as_str().unwrap().to_owned();
    let res = hq
        .send::<()>(Method::GET, routes::ADMIN_EXPORT, Some(&token), None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = hq
        .send(
            Method::POST,
            routes::ADMIN_TECHNICIANS,
            Some(&token),
            Some(&json!({"name": "x"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Listed without the token itself.
    let list: Vec<Value> = hq
        .admin_ok::<(), _>(Method::GET, o::ADMIN_API_TOKENS, None)
        .await;
    assert!(!serde_json::to_string(&list).unwrap().contains(&token));
    assert!(list[0]["last_used_at"].is_string());
    let _: Value = hq
        .admin_ok::<(), _>(
            Method::POST,
            &o::ADMIN_API_TOKEN_REVOKE.replace("{id}", made["api_token"]["id"].as_str().unwrap()),
            None,
        )
        .await;
    let res = hq
        .send::<()>(Method::GET, routes::ADMIN_EXPORT, Some(&token), None)
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // A device's token is no office token either.
    let dev = hq.enrolled("李师傅").await;
    let res = hq
        .send::<()>(Method::GET, routes::ADMIN_EXPORT, Some(&dev.token), None)
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_first_administrator_is_added_from_the_command_line_and_signs_in() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let add = |name: &str, password: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_onsite-hq"))
            .args([
                "user",
                "add",
                "--role",
                "administrator",
                "--display-name",
                "王经理",
            ])
            .arg("--data")
            .arg(&dir)
            .arg(name)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        child.wait_with_output().unwrap()
    };
    let out = add("boss.wang", "boss.wang has a long password");
    assert!(out.status.success(), "{out:?}");
    let out = add("someone", "short");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 10 characters"));
    let out = add("BOSS.WANG", "another long password");
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists already"));

    let hq = start_in(&dir, std::sync::Arc::new(pki()), Some(tmp)).await;
    let boss = sign_in(&hq, "boss.wang").await;
    let me: Value = as_person(&hq, &boss, Method::GET, o::CONSOLE_ME, None, false)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"]["role"], "administrator");
    assert_eq!(me["user"]["display_name"], "王经理");
    // The only administrator cannot be disabled, by themself or by the admin token.
    let id = me["user"]["id"].as_str().unwrap().to_owned();
    let disable = o::ADMIN_USER_DISABLE.replace("{id}", &id);
    let (status, _) = code(as_person(&hq, &boss, Method::POST, &disable, None, true).await).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let res = hq
        .send::<()>(Method::POST, &disable, Some(ADMIN), None)
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    // An administrator reads the audit log, where the sign-in is.
    let res = as_person(&hq, &boss, Method::GET, o::ADMIN_AUDIT, None, false).await;
    assert_eq!(res.status(), StatusCode::OK);
    let log: Vec<Value> = res.json().await.unwrap();
    // Newest first: the refused attempts (recorded when authorised), then the sign-in.
    assert_eq!(log[0]["action"], "POST /v1/admin/users/{id}/disable");
    assert!(log.iter().any(|e| e["action"] == "sign_in"));
}

both_backends!(
    each_role_does_what_it_may_and_changes_need_the_csrf_token,
    failed_logins_wait_and_disabled_people_are_out,
    api_tokens_act_within_their_scopes_until_revoked,
);
