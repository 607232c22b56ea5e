//! `keyward revoke` end to end: the built binary against a real HTTP server on loopback that
//! answers with canned responses and records the request it received.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use assert_cmd::Command;

/// A token shaped like a Google access token, with characters that must be form-encoded
/// (random, not a live credential).
const TOKEN: &str = "ya29.a0Af+H/xYz=kT7qL9wR2mN4vB8cX1";
const TOKEN_FORM: &str = "ya29.a0Af%2BH%2FxYz%3DkT7qL9wR2mN4vB8cX1";
const CLIENT_ID: &str = "keyward-test-client";
const CLIENT_SECRET: &str = "Zx9-Secret_Value.42";
/// base64("keyward-test-client:Zx9-Secret_Value.42")
const BASIC: &str = "Basic a2V5d2FyZC10ZXN0LWNsaWVudDpaeDktU2VjcmV0X1ZhbHVlLjQy";

/// Keeps a test from hanging if the binary misbehaves; never part of an assertion.
const SAFETY: Duration = Duration::from_secs(20);

/// What the server received.
#[derive(Debug)]
struct Received {
    head: String,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then_some(value.trim())
        })
    }
}

/// A one-request server on 127.0.0.1: answers `response` (None: never answers, and holds the
/// connection until the client gives up). Returns the endpoint URL and the request.
fn serve(response: Option<String>) -> (String, JoinHandle<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!(
        "http://{}/oauth2/revoke",
        listener.local_addr().expect("addr")
    );
    let handle = thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        stream.set_read_timeout(Some(SAFETY)).expect("timeout");
        let received = read_request(&mut stream);
        match response {
            Some(r) => stream.write_all(r.as_bytes()).expect("write"),
            // Until the client closes its end (its --timeout), or the safety limit.
            None => while matches!(stream.read(&mut [0u8; 256]), Ok(n) if n > 0) {},
        }
        received
    });
    (url, handle)
}

fn read_request(stream: &mut TcpStream) -> Received {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut buf).expect("read head");
        assert!(n > 0, "connection closed before the request head ended");
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8(data[..head_end].to_vec()).expect("utf-8 head");
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().expect("length"))
        })
        .unwrap_or(0);
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buf).expect("read body");
        assert!(n > 0, "connection closed before the body ended");
        body.extend_from_slice(&buf[..n]);
    }
    Received {
        head,
        body: String::from_utf8(body).expect("utf-8 body"),
    }
}

fn http(status: &str, extra_headers: &str, body: &str) -> Option<String> {
    Some(format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         {extra_headers}Connection: close\r\n\r\n{body}",
        body.len()
    ))
}

/// `keyward revoke`, with no inherited credentials or proxies.
fn revoke() -> Command {
    let mut cmd = Command::cargo_bin("keyward").expect("binary");
    cmd.arg("revoke").timeout(SAFETY);
    for var in [
        "KEYWARD_REVOKE_TOKEN",
        "KEYWARD_CLIENT_ID",
        "KEYWARD_CLIENT_SECRET",
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().expect("run");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    for secret in [TOKEN, CLIENT_SECRET] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "a secret was printed:\n{stdout}\n{stderr}"
        );
    }
    (out.status.code().expect("exit code"), stdout, stderr)
}

/// A port with a listener that must never see a connection.
fn untouched_listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/revoke", listener.local_addr().expect("addr"));
    (listener, url)
}

fn assert_no_connection(listener: &TcpListener) {
    listener.set_nonblocking(true).expect("nonblocking");
    match listener.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        other => panic!("the binary connected although it should not have: {other:?}"),
    }
}

#[test]
fn revoked_with_rfc7009_form_and_basic_auth() {
    let (url, server) = serve(http("200 OK", "", ""));
    let (code, stdout, stderr) = run(revoke()
        .args(["--endpoint", &url, "--allow-http"])
        .args(["--token-type-hint", "refresh_token"])
        .env("KEYWARD_REVOKE_TOKEN", TOKEN)
        .env("KEYWARD_CLIENT_ID", CLIENT_ID)
        .env("KEYWARD_CLIENT_SECRET", CLIENT_SECRET));
    let req = server.join().expect("server");
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("revoked") && stdout.contains("ya29…"),
        "{stdout}"
    );
    assert!(stderr.contains("RFC 7009"), "{stderr}");
    assert!(
        req.head.starts_with("POST /oauth2/revoke HTTP/1.1"),
        "{}",
        req.head
    );
    assert_eq!(
        req.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(req.header("authorization"), Some(BASIC));
    assert_eq!(
        req.body,
        format!("token={TOKEN_FORM}&token_type_hint=refresh_token")
    );
}

#[test]
fn client_secret_post_puts_the_credentials_in_the_body() {
    let (url, server) = serve(http("200 OK", "", "{}"));
    let (code, _, stderr) = run(revoke()
        .args([
            "--endpoint",
            &url,
            "--allow-http",
            "--auth",
            "client_secret_post",
        ])
        .env("KEYWARD_REVOKE_TOKEN", TOKEN)
        .env("KEYWARD_CLIENT_ID", CLIENT_ID)
        .env("KEYWARD_CLIENT_SECRET", CLIENT_SECRET));
    let req = server.join().expect("server");
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(req.header("authorization"), None);
    assert_eq!(
        req.body,
        format!("token={TOKEN_FORM}&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}")
    );
}

#[test]
fn token_from_stdin_first_line_without_client_credentials() {
    let (url, server) = serve(http("200 OK", "", ""));
    let (code, stdout, stderr) = run(revoke()
        .args(["--endpoint", &url, "--allow-http", "--token-stdin"])
        .write_stdin(format!("{TOKEN}\r\nnot-the-token\n")));
    let req = server.join().expect("server");
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("revoked"), "{stdout}");
    assert_eq!(req.header("authorization"), None);
    assert_eq!(req.body, format!("token={TOKEN_FORM}"));
}

#[test]
fn unsupported_token_type_is_an_error_and_echoed_secrets_are_redacted() {
    let body = format!(
        r#"{{"error":"unsupported_token_type","error_description":"cannot revoke {TOKEN}"}}"#
    );
    let (url, server) = serve(http("400 Bad Request", "", &body));
    let (code, stdout, stderr) = run(revoke()
        .args(["--endpoint", &url, "--allow-http"])
        .env("KEYWARD_REVOKE_TOKEN", TOKEN));
    server.join().expect("server");
    assert_eq!(code, 2);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("HTTP 400"), "{stderr}");
    assert!(
        stderr.contains("unsupported_token_type: cannot revoke ya29…"),
        "{stderr}"
    );
    assert!(
        stderr.contains("does not revoke this kind of token"),
        "{stderr}"
    );
    assert!(
        stderr.contains("delete the OAuth client's credentials"),
        "{stderr}"
    );
}

#[test]
fn invalid_token_400_is_an_error() {
    let (url, server) = serve(http(
        "400 Bad Request",
        "",
        r#"{"status":400,"message":"Invalid token"}"#,
    ));
    let (code, _, stderr) = run(revoke()
        .args(["--endpoint", &url, "--allow-http"])
        .env("KEYWARD_REVOKE_TOKEN", TOKEN)
        .env("KEYWARD_CLIENT_ID", CLIENT_ID));
    let req = server.join().expect("server");
    assert_eq!(code, 2);
    // Only a client id set: the client identifies itself in the body.
    assert_eq!(
        req.body,
        format!("token={TOKEN_FORM}&client_id={CLIENT_ID}")
    );
    assert!(
        stderr.contains("HTTP 400") && stderr.contains("Invalid token"),
        "{stderr}"
    );
    assert!(
        stderr.contains("expired or been revoked already"),
        "{stderr}"
    );
}

#[test]
fn invalid_client_401_says_to_fix_the_credentials() {
    let (url, server) = serve(http(
        "401 Unauthorized",
        "WWW-Authenticate: Basic\r\n",
        r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#,
    ));
    let (code, _, stderr) = run(revoke()
        .args(["--endpoint", &url, "--allow-http"])
        .env("KEYWARD_REVOKE_TOKEN", TOKEN)
        .env("KEYWARD_CLIENT_ID", CLIENT_ID)
        .env("KEYWARD_CLIENT_SECRET", CLIENT_SECRET));
    server.join().expect("server");
    assert_eq!(code, 2);
    assert!(
        stderr.contains("HTTP 401") && stderr.contains("invalid_client: Client authentication"),
        "{stderr}"
    );
    assert!(stderr.contains("KEYWARD_CLIENT_SECRET"), "{stderr}");
}

#[test]
fn server_error_503_says_to_retry() {
    let (url, server) = serve(http("503 Service Unavailable", "Retry-After: 120\r\n", ""));
    let (code, _, stderr) = run(revoke()
        .args(["--endpoint", &url, "--allow-http"])
        .env("KEYWARD_REVOKE_TOKEN", TOKEN));
    server.join().expect("server");
    assert_eq!(code, 2);
    assert!(stderr.contains("HTTP 503"), "{stderr}");
    assert!(stderr.contains("still works"), "{stderr}");
    assert!(stderr.contains("retry after 120"), "{stderr}");
}

#[test]
fn redirects_are_not_followed() {
    let (url, server) = serve(http(
        "302 Found",
        "Location: http://127.0.0.1:1/elsewhere\r\n",
        "",
    ));
    let (code, _, stderr) = run(revoke()
        .args(["--endpoint", &url, "--allow-http"])
        .env("KEYWARD_REVOKE_TOKEN", TOKEN));
    server.join().expect("server");
    assert_eq!(code, 2);
    assert!(stderr.contains("HTTP 302"), "{stderr}");
    assert!(
        stderr.contains("redirected to http://127.0.0.1:1/elsewhere"),
        "{stderr}"
    );
}

#[test]
fn no_answer_within_the_timeout_is_an_error() {
    let (url, server) = serve(None);
    let (code, stdout, stderr) = run(revoke()
        .args(["--endpoint", &url, "--allow-http", "--timeout", "300ms"])
        .env("KEYWARD_REVOKE_TOKEN", TOKEN));
    let req = server.join().expect("server");
    assert_eq!(code, 2);
    assert!(stdout.is_empty(), "{stdout}");
    assert_eq!(req.body, format!("token={TOKEN_FORM}"));
    assert!(
        stderr.contains("no answer") && stderr.contains("300ms"),
        "{stderr}"
    );
    assert!(stderr.contains("may or may not be revoked"), "{stderr}");
}

#[test]
fn connection_refused_is_an_error() {
    let url = {
        let (listener, url) = untouched_listener();
        drop(listener);
        url
    };
    let (code, _, stderr) = run(revoke()
        .args(["--endpoint", &url, "--allow-http"])
        .env("KEYWARD_REVOKE_TOKEN", TOKEN));
    assert_eq!(code, 2);
    assert!(stderr.contains("could not reach"), "{stderr}");
}

#[test]
fn plain_http_is_refused_without_allow_http() {
    let (listener, url) = untouched_listener();
    let (code, _, stderr) = run(revoke()
        .args(["--endpoint", &url])
        .env("KEYWARD_REVOKE_TOKEN", TOKEN));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("plain http") && stderr.contains("TLS"),
        "{stderr}"
    );
    assert!(stderr.contains("--allow-http"), "{stderr}");
    assert_no_connection(&listener);
}

#[test]
fn a_token_on_the_command_line_is_refused_unsent() {
    let (listener, url) = untouched_listener();
    for args in [vec![TOKEN], vec!["--token", TOKEN]] {
        let (code, _, stderr) = run(revoke()
            .args(["--endpoint", &url, "--allow-http"])
            .args(&args));
        assert_eq!(code, 2, "{args:?}");
        assert!(
            stderr.contains("refusing a token on the command line"),
            "{stderr}"
        );
        assert!(stderr.contains("ya29…"), "{stderr}");
        assert!(stderr.contains("KEYWARD_REVOKE_TOKEN"), "{stderr}");
    }
    let (code, _, stderr) = run(revoke()
        .args([
            "--endpoint",
            &url,
            "--allow-http",
            "--client-secret",
            CLIENT_SECRET,
        ])
        .env("KEYWARD_REVOKE_TOKEN", TOKEN));
    assert_eq!(code, 2);
    assert!(stderr.contains("KEYWARD_CLIENT_SECRET"), "{stderr}");
    assert_no_connection(&listener);
}

#[test]
fn missing_client_credentials_are_named_before_sending() {
    let (listener, url) = untouched_listener();
    let (code, _, stderr) = run(revoke()
        .args([
            "--endpoint",
            &url,
            "--allow-http",
            "--auth",
            "client_secret_basic",
        ])
        .env("KEYWARD_REVOKE_TOKEN", TOKEN)
        .env("KEYWARD_CLIENT_ID", CLIENT_ID));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("KEYWARD_CLIENT_ID and KEYWARD_CLIENT_SECRET"),
        "{stderr}"
    );
    assert_no_connection(&listener);
}

#[test]
fn unknown_provider_lists_the_known_ones() {
    let (code, _, stderr) = run(revoke()
        .args(["--provider", "myspace"])
        .env("KEYWARD_REVOKE_TOKEN", TOKEN));
    assert_eq!(code, 2);
    assert!(stderr.contains("unknown provider \"myspace\""), "{stderr}");
    assert!(
        stderr.contains("google") && stderr.contains("okta"),
        "{stderr}"
    );
    assert!(stderr.contains("--endpoint"), "{stderr}");
}

#[test]
fn tenant_providers_need_a_domain() {
    let (code, _, stderr) = run(revoke()
        .args(["--provider", "okta"])
        .env("KEYWARD_REVOKE_TOKEN", TOKEN));
    assert_eq!(code, 2);
    assert!(stderr.contains("--domain"), "{stderr}");
    let (code, stdout, _) = run(revoke().arg("--list-providers"));
    assert_eq!(code, 0);
    assert!(
        stdout.contains("https://oauth2.googleapis.com/revoke")
            && stdout.contains("https://{domain}/oauth2/v1/revoke"),
        "{stdout}"
    );
}
