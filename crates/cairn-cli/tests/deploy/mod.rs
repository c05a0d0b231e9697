//! `deploy/kubernetes.yaml` runs as written: `cairn serve` started with its Deployment's
//! arguments and environment (the Secret's values, with the database, bucket and listening
//! address swapped for the test's), its probe and scrape paths answering, its grace periods
//! adding up, its Service reaching the container, and its CronJob's `cairn gc` succeeding.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

fn documents() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/kubernetes.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{path}: {e}")))
        .collect()
}

fn kind<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in the example"))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

/// `--flag=value` of `args`.
fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .find_map(|a| a.strip_prefix(&format!("--{name}=")))
}

fn seconds(duration: &str) -> u64 {
    let (n, unit) = duration.split_at(duration.len() - 1);
    let n: u64 = n.parse().unwrap();
    n * match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        other => panic!("unit {other}"),
    }
}

/// The environment a container of the example gets: its literal `env` and its Secret's
/// `stringData`, with the test's database and S3 endpoint in place of the example's.
fn environment(container: &Value, secret: &Value, db: &str) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for from in container["envFrom"].as_array().unwrap() {
        assert_eq!(
            from["secretRef"]["name"], secret["metadata"]["name"],
            "envFrom names another Secret"
        );
        for (k, v) in secret["stringData"].as_object().unwrap() {
            env.insert(k.clone(), v.as_str().unwrap().to_owned());
        }
    }
    for var in container["env"].as_array().unwrap() {
        let name = var["name"].as_str().unwrap().to_owned();
        env.insert(name, var["value"].as_str().unwrap().to_owned());
    }
    env.insert("CAIRN_DATABASE_URL".into(), db.into());
    for (k, v) in std::env::vars().filter(|(k, _)| k.starts_with("AWS_")) {
        env.insert(k, v);
    }
    env
}

/// The container's arguments with the test's bucket and a loopback port.
fn arguments(container: &Value, blobs: &str, port: u16) -> Vec<String> {
    assert_eq!(strings(&container["command"]), ["cairn"]);
    strings(&container["args"])
        .into_iter()
        .map(|a| {
            if a.starts_with("--blob-store=") {
                format!("--blob-store={blobs}")
            } else if a.starts_with("--addr=") {
                format!("--addr=127.0.0.1:{port}")
            } else {
                a
            }
        })
        .collect()
}

#[tokio::test]
async fn the_kubernetes_example_runs_as_written() {
    let (Some(db), Some(blobs)) = (
        cairn_testkit::services::postgres_database().await,
        cairn_testkit::services::s3_location(),
    ) else {
        return;
    };
    let docs = documents();
    let secret = kind(&docs, "Secret");
    let deployment = kind(&docs, "Deployment");
    let pod = &deployment["spec"]["template"];
    assert_eq!(
        deployment["spec"]["selector"]["matchLabels"], pod["metadata"]["labels"],
        "the Deployment selects its own pods"
    );
    let container = &pod["spec"]["containers"][0];
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let args = arguments(container, &blobs, port);
    assert_eq!(args[0], "serve");
    let listens: std::net::SocketAddr = flag(&strings(&container["args"]), "addr")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        container["ports"][0]["containerPort"],
        listens.port(),
        "the container port is the one cairn listens on"
    );
    // Kubernetes kills the pod after terminationGracePeriodSeconds: the drain must fit in it
    let drain = seconds(flag(&args, "shutdown-delay").unwrap())
        + seconds(flag(&args, "shutdown-grace").unwrap());
    let termination = pod["spec"]["terminationGracePeriodSeconds"]
        .as_u64()
        .unwrap();
    assert!(
        drain < termination,
        "drain {drain} s vs termination grace {termination} s"
    );
    // the Service reaches the container's named port
    let service = kind(&docs, "Service");
    assert_eq!(service["spec"]["selector"], pod["metadata"]["labels"]);
    assert_eq!(
        service["spec"]["ports"][0]["targetPort"],
        container["ports"][0]["name"]
    );

    let env = environment(container, secret, &db);
    let mut serve = tokio::process::Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(&args)
        .env_clear()
        .envs(&env)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..300 {
        assert!(serve.try_wait().unwrap().is_none(), "cairn serve exited");
        if http
            .get(format!("{url}/api/v1/health"))
            .send()
            .await
            .is_ok()
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "cairn serve never answered");
    for probe in ["readinessProbe", "livenessProbe"] {
        let get = &container[probe]["httpGet"];
        assert_eq!(get["port"], container["ports"][0]["name"], "{probe} port");
        let path = get["path"].as_str().unwrap();
        let res = http.get(format!("{url}{path}")).send().await.unwrap();
        assert_eq!(res.status(), 200, "{probe} {path}");
    }
    let scrape = pod["metadata"]["annotations"]["prometheus.io/path"]
        .as_str()
        .unwrap();
    let metrics = http.get(format!("{url}{scrape}")).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(
        metrics
            .text()
            .await
            .unwrap()
            .contains("cairn_db_connections")
    );
    // the Secret's admin token is the registry's
    let whoami = http
        .get(format!("{url}/api/v1/whoami"))
        .bearer_auth(&env["CAIRN_ADMIN_TOKEN"])
        .send()
        .await
        .unwrap();
    assert_eq!(whoami.status(), 200);

    let cron = kind(&docs, "CronJob");
    let job = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
    let gc_args = arguments(job, &blobs, port);
    assert_eq!(gc_args[0], "gc");
    let gc = tokio::process::Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(&gc_args)
        .env_clear()
        .envs(environment(job, secret, &db))
        .output()
        .await
        .unwrap();
    assert!(
        gc.status.success(),
        "{}",
        String::from_utf8_lossy(&gc.stderr)
    );
    serve.start_kill().unwrap();
}
