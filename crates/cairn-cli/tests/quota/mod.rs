//! `cairn quota` (issue 24): an admin sets a project's quota; `cairn put` over it fails naming
//! the quota and leaves nothing committed; `cairn ls` and `cairn quota show` say what the
//! project holds against it. And a client over its token's request rate waits and retries.

use cairn_testkit::TestServer;

use super::{Cli, s, write};

#[tokio::test]
async fn a_put_over_the_quota_fails_naming_it() {
    let server = TestServer::start().await;
    let cli = Cli::new(&server);
    let usage = cli.json(&["quota", "set", "ent/proj", "10KiB"]).await;
    assert_eq!(usage["quota"], 10240);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "small.txt", &"s".repeat(4000));
    cli.json(&["put", s(dir.path()), "--name", "fits", "--type", "dataset"])
        .await;
    let big = tempfile::tempdir().unwrap();
    write(big.path(), "big.bin", &"b".repeat(20_000));
    let ran = cli
        .run(
            &[
                "put",
                s(big.path()),
                "--name",
                "too-big",
                "--type",
                "dataset",
            ],
            true,
        )
        .await;
    assert!(!ran.ok, "{}", ran.stdout);
    assert!(
        ran.stderr.contains("quota is 10240 bytes") && ran.stderr.contains("cairn quota set"),
        "{}",
        ran.stderr
    );
    let shown = cli.run(&["quota", "show", "ent/proj"], true).await;
    assert!(shown.ok, "{}", shown.stderr);
    assert!(
        shown
            .stdout
            .contains("ent/proj holds 3.91 KiB in 1 blobs of its 10.00 KiB quota (39%)"),
        "{}",
        shown.stdout
    );
    let listed = cli.run(&["ls", "ent/proj"], true).await;
    assert!(listed.stdout.contains("fits"), "{}", listed.stdout);
    assert!(!listed.stdout.contains("too-big"), "{}", listed.stdout);
    assert!(
        listed.stdout.contains("of its 10.00 KiB quota"),
        "{}",
        listed.stdout
    );
    // lifted, the same put goes through
    let usage = cli.json(&["quota", "clear", "ent/proj"]).await;
    assert!(usage.get("quota").is_none(), "{usage}");
    cli.json(&[
        "put",
        s(big.path()),
        "--name",
        "too-big",
        "--type",
        "dataset",
    ])
    .await;
    // a size that does not parse is named
    let bad = cli.run(&["quota", "set", "ent/proj", "lots"], true).await;
    assert!(
        !bad.ok && bad.stderr.contains("'lots' is not a size"),
        "{}",
        bad.stderr
    );
}

#[tokio::test]
async fn a_put_over_the_token_rate_waits_and_retries_by_itself() {
    let server = TestServer::with_config(cairn_server::Config {
        token_rate: 2,
        ..cairn_server::Config::default()
    })
    .await;
    let cli = Cli::new(&server);
    let dir = tempfile::tempdir().unwrap();
    for i in 0..20 {
        write(dir.path(), &format!("f{i}.txt"), &format!("file {i}"));
    }
    let v = cli
        .json(&["put", s(dir.path()), "--name", "paced", "--type", "dataset"])
        .await;
    assert_eq!(v["version"], "v0", "{v}");
    // it was refused on the way, and waited as told
    let metrics = server
        .get_public("/metrics", &[])
        .await
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("cairn_http_requests_total{") && l.contains(r#"status="429""#)),
        "{metrics}"
    );
}

#[tokio::test]
async fn errors_are_one_clean_line_even_with_rust_backtrace_set() {
    let server = TestServer::start().await;
    let cairn = |verbose: bool| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_cairn"));
        cmd.args(["quota", "show", "ent/proj", "--host", &server.url])
            .args(["--token", "cairn_not_a_token"])
            .env("RUST_BACKTRACE", "1")
            .env_remove("CAIRN_TOKEN")
            .env_remove("CAIRN_HOST");
        if verbose {
            cmd.arg("--verbose");
        }
        cmd.output()
    };
    let out = cairn(false).await.unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains("401"),
        "{stderr}"
    );
    // --verbose shows the whole report, with where it happened
    let out = cairn(true).await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.lines().count() > 1, "{stderr}");
}
