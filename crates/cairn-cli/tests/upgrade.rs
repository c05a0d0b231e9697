//! Data directories written by earlier releases (made by `scripts/make-upgrade-fixture` with
//! each release) keep working: the release before chunks (schema 0005, every blob stored
//! whole) and the release before SHA-256 checkpoints (schema 0007, blobs stored as chunks with
//! `CAIRNRC1` recipes). The old version downloads, a new version of it goes up as chunks (on the
//! old recipes as bases), garbage collection runs over both, and both versions come back right.

use std::path::Path;
use std::process::Stdio;

use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const TOKEN: &str = "upgrade-fixture";

fn cairn(url: &str, config: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_cairn"))
        .arg("--json")
        .args(args)
        .env("CAIRN_HOST", url)
        .env("CAIRN_TOKEN", TOKEN)
        .env("CAIRN_ENTITY", "old")
        .env("CAIRN_PROJECT", "data")
        .env("CAIRN_CONFIG", config)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn json(out: std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(data: &Path) -> (Server, String) {
    serve_on(&["--data-dir", data.to_str().unwrap()])
}

/// `cairn serve` with these storage flags, on a free port.
fn serve_on(storage: &[&str]) -> (Server, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Server(
        std::process::Command::new(env!("CARGO_BIN_EXE_cairn"))
            .args([
                "serve",
                "--addr",
                &format!("127.0.0.1:{port}"),
                "--web-dir",
                "/nonexistent",
            ])
            .args(storage)
            .env("CAIRN_ADMIN_TOKEN", TOKEN)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (server, url);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("cairn serve did not start on {storage:?}");
}

#[test]
fn a_data_directory_from_before_chunks_keeps_working() {
    keeps_working("data-dir-0005.tar.gz", true);
}

#[test]
fn a_data_directory_from_before_checkpoints_keeps_working() {
    keeps_working("data-dir-0007.tar.gz", false);
}

/// `stored_whole`: the fixture's blobs are whole objects, which the first collection packs.
fn keeps_working(fixture: &str, stored_whole: bool) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let untar = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(Path::new(FIXTURES).join(fixture))
        .arg("-C")
        .arg(&data)
        .status()
        .unwrap();
    assert!(untar.success());
    let config = dir.path().join("config.json");
    let (server, url) = serve(&data);

    // the old version downloads, its blobs served whole or from their old recipes
    let v0 = dir.path().join("v0");
    let got = json(cairn(
        &url,
        &config,
        &["get", "ds:v0", "--root", v0.to_str().unwrap()],
    ));
    assert_eq!(got["downloaded_files"], 2, "{got}");
    let model = std::fs::read(v0.join("model.bin")).unwrap();
    assert_eq!(model.len(), 300_000);
    assert_eq!(
        std::fs::read_to_string(v0.join("sub/labels.txt")).unwrap(),
        "cat\ndog\n"
    );

    // a new version with the model edited goes up as chunks
    let mut edited = model.clone();
    edited[150_000..150_100].fill(7);
    std::fs::write(v0.join("model.bin"), &edited).unwrap();
    let put = json(cairn(
        &url,
        &config,
        &[
            "put",
            v0.to_str().unwrap(),
            "--name",
            "ds",
            "--type",
            "dataset",
        ],
    ));
    assert_eq!(put["version"], "v1", "{put}");
    assert!(
        data.join("blobs/packs").is_dir(),
        "the new blob is stored in packs"
    );

    // garbage collection over whole blobs and packs frees nothing either version needs
    drop(server);
    let gc = json(cairn(
        &url,
        &config,
        &["gc", "--data-dir", data.to_str().unwrap(), "--grace", "0s"],
    ));
    assert_eq!(gc["blobs"], 0, "{gc}");
    assert_eq!(gc["packs"], 0, "{gc}");
    // a release's whole blobs are packed into chunks; the next collection deletes their
    // whole objects
    assert_eq!(
        gc["packed_whole"].as_u64().unwrap() > 0,
        stored_whole,
        "{gc}"
    );
    let again = json(cairn(
        &url,
        &config,
        &["gc", "--data-dir", data.to_str().unwrap(), "--grace", "0s"],
    ));
    assert_eq!(again["packed_whole"], 0, "{again}");
    assert_eq!(again["whole_freed"], gc["packed_whole"], "{again}");
    assert_eq!(again["blobs"], 0, "{again}");
    let (_server, url) = serve(&data);
    for (version, want) in [("v0", &model), ("v1", &edited)] {
        let root = dir.path().join(format!("again-{version}"));
        let what = format!("ds:{version}");
        json(cairn(
            &url,
            &config,
            &["get", &what, "--root", root.to_str().unwrap()],
        ));
        assert!(
            std::fs::read(root.join("model.bin")).unwrap() == *want,
            "{version}"
        );
    }
    let verify = cairn(&url, &config, &["verify", "ds:v1", v0.to_str().unwrap()]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

/// `cairn backup` while the registry serves, then a restore: the backup served alone gives back
/// exactly what was committed before it (a version committed after it is not there), its
/// tokens included; a second backup into the same folder is refused.
/// The folder the backup tests version: a large file (several chunks) and a small one holding
/// `text`; returns the folder and the large file's bytes.
fn backup_source(dir: &Path, text: &str) -> (std::path::PathBuf, Vec<u8>) {
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 13 % 251) as u8).collect();
    std::fs::write(src.join("big.bin"), &big).unwrap();
    std::fs::write(src.join("sub/a.txt"), text).unwrap();
    (src, big)
}

/// `cairn put` of `src` as the dataset `ds`.
fn put_source(url: &str, config: &Path, src: &Path) -> Value {
    let args = [
        "put",
        src.to_str().unwrap(),
        "--name",
        "ds",
        "--type",
        "dataset",
    ];
    json(cairn(url, config, &args))
}

/// `ds:latest` downloaded into `root` is the source as it was with `text`, verified.
fn assert_restored(url: &str, config: &Path, root: &Path, big: &[u8], text: &str) {
    let got = json(cairn(
        url,
        config,
        &["get", "ds:latest", "--root", root.to_str().unwrap()],
    ));
    assert_eq!(got["version"], "v0", "{got}");
    assert!(std::fs::read(root.join("big.bin")).unwrap() == big);
    assert_eq!(
        std::fs::read_to_string(root.join("sub/a.txt")).unwrap(),
        text
    );
    let verify = cairn(url, config, &["verify", "ds:v0", root.to_str().unwrap()]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

#[test]
fn a_backup_taken_while_serving_restores_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("config.json");
    let (src, big) = backup_source(dir.path(), "before the backup");
    let (server, url) = serve(&data);
    assert_eq!(put_source(&url, &config, &src)["version"], "v0");
    let backup = dir.path().join("backup");
    let b = backup.to_str().unwrap();
    let d = data.to_str().unwrap();
    let report = json(cairn(
        &url,
        &config,
        &["backup", "--data-dir", d, "--to", b],
    ));
    assert!(report["blob_bytes"].as_u64().unwrap() > 0, "{report}");
    let again = cairn(&url, &config, &["backup", "--data-dir", d, "--to", b]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("is not empty"));
    // committed after the backup: not in it
    std::fs::write(src.join("sub/a.txt"), "after the backup").unwrap();
    assert_eq!(put_source(&url, &config, &src)["version"], "v1");
    drop(server);

    let (_restored, url) = serve(&backup);
    let root = dir.path().join("got");
    assert_restored(&url, &config, &root, &big, "before the backup");
    let v1 = cairn(
        &url,
        &config,
        &["get", "ds:v1", "--root", root.to_str().unwrap()],
    );
    assert!(!v1.status.success(), "v1 was committed after the backup");
}

/// Runs one of PostgreSQL's client tools, failing the test with what it printed.
fn pg_tool(cmd: &mut std::process::Command) {
    let out = cmd
        .output()
        .expect("PostgreSQL's client tools (pg_dump, pg_restore) on PATH");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// PostgreSQL + S3, backed up as docs/guide/backups.md says: `pg_dump` first, then the bucket
/// copied (here: every object under the prefix, to another prefix); restored with `pg_restore`
/// into a new database. A version committed between the dump and the copy is not in the
/// restore (its blobs are, unnamed); the restored registry serves v0 byte for byte, takes a
/// read token made before the dump, and a garbage collection of it keeps every named blob.
#[tokio::test(flavor = "multi_thread")]
async fn a_postgres_dump_and_a_bucket_copy_restore_on_their_own() {
    let (Some(db), Some(location)) = (
        cairn_testkit::services::postgres_database().await,
        cairn_testkit::services::s3_location(),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    let (src, big) = backup_source(dir.path(), "before the dump");
    let (server, url) = serve_on(&["--database-url", &db, "--blob-store", &location]);
    assert_eq!(put_source(&url, &config, &src)["version"], "v0");
    let token = ["token", "create", "--entity", "old", "--role", "read"];
    let storage = [
        "--database-url",
        db.as_str(),
        "--blob-store",
        location.as_str(),
    ];
    let reader = json(cairn(&url, &config, &[&token[..], &storage[..]].concat()))["token"]
        .as_str()
        .unwrap()
        .to_owned();

    // 1. the dump
    let dump = dir.path().join("cairn.dump");
    pg_tool(
        std::process::Command::new("pg_dump")
            .args(["--format=custom", "--file"])
            .arg(&dump)
            .arg(&db),
    );
    // committed after the dump, before the bucket copy
    std::fs::write(src.join("sub/a.txt"), "after the dump").unwrap();
    assert_eq!(put_source(&url, &config, &src)["version"], "v1");

    // 2. the bucket, copied object by object to another prefix
    let (bucket, prefix) = location
        .strip_prefix("s3://")
        .and_then(|l| l.split_once('/'))
        .unwrap();
    let copy_prefix = format!("{prefix}-restored");
    let s3 = object_store::aws::AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .build()
        .unwrap();
    use futures::TryStreamExt;
    use object_store::ObjectStore;
    let objects: Vec<_> = s3
        .list(Some(&object_store::path::Path::from(prefix)))
        .try_collect()
        .await
        .unwrap();
    assert!(!objects.is_empty());
    for o in &objects {
        let rest = o.location.as_ref().strip_prefix(prefix).unwrap();
        let to = object_store::path::Path::from(format!("{copy_prefix}{rest}"));
        s3.copy(&o.location, &to).await.unwrap();
    }
    drop(server);

    // restore: a new database from the dump, the copied prefix
    let restored_db = cairn_testkit::services::postgres_database().await.unwrap();
    pg_tool(
        std::process::Command::new("pg_restore")
            .args(["--no-owner", "--dbname", &restored_db])
            .arg(&dump),
    );
    let copied = format!("s3://{bucket}/{copy_prefix}");
    let storage = [
        "--database-url",
        restored_db.as_str(),
        "--blob-store",
        copied.as_str(),
    ];
    let (_restored, url) = serve_on(&storage);
    assert_restored(
        &url,
        &config,
        &dir.path().join("got"),
        &big,
        "before the dump",
    );
    // the read token made before the dump reads the restore
    let listed = std::process::Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(["ls", "old/data/ds", "--host", &url, "--token", &reader])
        .env("CAIRN_CONFIG", &config)
        .output()
        .unwrap();
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );

    // a collection of the restore keeps every blob its versions name
    json(cairn(
        &url,
        &config,
        &[&["gc", "--grace", "0s"][..], &storage[..]].concat(),
    ));
    assert_restored(
        &url,
        &config,
        &dir.path().join("again"),
        &big,
        "before the dump",
    );
}
