"""What the SDK cannot show: refusals. Signed URLs that were tampered with, bytes whose MD5 is
not the one declared, MD5s resolved only within their project, operations Cairn does not
implement, and tokens whose role does not allow the step — each refused with a clear message,
nothing stored."""

import base64
import hashlib

import pytest
import requests
import wandb

from conftest import sha, write


def gql(registry, query, variables=None, token=None):
    r = requests.post(
        registry["url"] + "/graphql",
        json={"query": query, "variables": variables or {}},
        auth=("api", token or registry["token"]),
    )
    return r


def b64md5(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


CREATE = """mutation CreateArtifact($input: CreateArtifactInput!) {
  createArtifact(input: $input) { artifact { id state } } }"""
FILES = """mutation CreateArtifactFiles($input: CreateArtifactFilesInput!) {
  createArtifactFiles(input: $input) { files { edges { node { uploadUrl } } } } }"""


def upload_url(registry, project, data):
    """Open a save in `team/project` and ask where the bytes of `data` go."""
    r = gql(registry, CREATE, {"input": {
        "entityName": "team", "projectName": project, "artifactTypeName": "dataset",
        "artifactCollectionName": "raw", "digest": "x"}})
    artifact = r.json()["data"]["createArtifact"]["artifact"]
    assert artifact["state"] == "PENDING"
    r = gql(registry, FILES, {"input": {"artifactFiles": [
        {"artifactID": artifact["id"], "name": "f", "md5": b64md5(data)}]}})
    return r.json()["data"]["createArtifactFiles"]["files"]["edges"][0]["node"]["uploadUrl"]


def test_bytes_with_another_md5_are_refused(registry, project, native):
    url = upload_url(registry, project, b"the declared bytes")
    r = requests.put(url, data=b"other bytes")
    assert r.status_code == 400
    assert "MD5" in r.text and "nothing was stored" in r.text
    head = native.s.head(f"{native.base}/blobs/{sha(b'other bytes')}")
    assert head.status_code == 404
    # the right bytes go in, and are then held (no second URL is handed out)
    assert requests.put(url, data=b"the declared bytes").status_code == 201
    assert upload_url(registry, project, b"the declared bytes") is None


def test_tampered_and_foreign_urls_are_refused(registry, project):
    url = upload_url(registry, project, b"abc")
    head, ticket = url.rsplit("/", 1)
    payload, tag = ticket.split(".")
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB")
    r = requests.put(f"{head}/{forged}.{tag}", data=b"abc")
    assert r.status_code == 403 and "signature" in r.text
    r = requests.put(f"{head}/not-a-ticket", data=b"abc")
    assert r.status_code == 403
    # an upload URL does not download
    r = requests.get(url.replace("/put/", "/get/"))
    assert r.status_code == 403 and "uploading" in r.text


def test_md5s_resolve_only_within_their_project(registry, project):
    data = b"shared between projects"
    url = upload_url(registry, project, data)
    assert requests.put(url, data=data).status_code == 201
    assert upload_url(registry, project, data) is None
    # another project must send the bytes itself: an MD5 it never received names nothing
    assert upload_url(registry, project + "x", data) is not None


def test_an_unknown_operation_is_named(registry):
    r = gql(registry, "query SomethingElse { viewer { id } }")
    assert r.status_code == 200
    assert r.json()["errors"][0]["message"] == 'Cairn does not implement the W&B operation "SomethingElse"'
    assert r.json()["data"] is None


def test_an_unknown_key_is_refused(registry):
    r = gql(registry, "query Viewer { viewer { id } }", token="cairn_" + "f" * 64)
    assert r.status_code == 401
    assert "unknown token" in r.json()["errors"][0]["message"]


def test_a_read_token_downloads_but_cannot_log(registry, project, native, tmp_path, monkeypatch):
    write("f.txt", "readable")
    with wandb.init() as run:
        a = wandb.Artifact("ro", type="dataset")
        a.add_file("f.txt")
        run.log_artifact(a)
    r = native.s.post(registry["url"] + "/api/v1/tokens",
                      json={"role": "read", "entity": "team", "name": "reader"})
    assert r.status_code == 201, r.text
    reader = r.json()["token"]
    wandb.teardown()
    monkeypatch.setenv("WANDB_API_KEY", reader)
    got = wandb.Api(api_key=reader).artifact(f"team/{project}/ro:latest")
    root = got.download(root=str(tmp_path / "ro"))
    assert (tmp_path / "ro" / "f.txt").read_text() == "readable" and root
    r = gql(registry, CREATE, {"input": {
        "entityName": "team", "projectName": project, "artifactTypeName": "dataset",
        "artifactCollectionName": "ro", "digest": "x"}}, token=reader)
    assert r.status_code == 403
    assert "write" in r.json()["errors"][0]["message"]
    with pytest.raises(Exception):
        with wandb.init() as run:
            a = wandb.Artifact("ro", type="dataset")
            write("g.txt", "not allowed")
            a.add_file("g.txt")
            run.log_artifact(a)
            a.wait()
    assert native.versions("ro") == ["v0"]


def test_signed_urls_hold_on_every_replica(registry, project, native):
    """A URL one replica signed is honoured by another (the secret is in the shared store)."""
    if "replica" not in registry:
        pytest.skip("one replica on SQLite")
    data = b"sent to the other replica"
    url = upload_url(registry, project, data)
    other = url.replace(registry["url"], registry["replica"])
    assert other != url
    assert requests.put(other, data=data).status_code == 201
    head = native.s.head(f"{registry['replica']}/api/v1/projects/team/{project}/blobs/{sha(data)}")
    assert head.status_code == 200


def test_an_oversized_graphql_body_is_refused_before_it_is_read(registry):
    """Only the headers are sent: the registry answers from the declared length alone."""
    import socket
    import urllib.parse

    host = urllib.parse.urlparse(registry["url"])
    key = base64.b64encode(f"api:{registry['token']}".encode()).decode()
    with socket.create_connection((host.hostname, host.port), timeout=10) as sock:
        sock.sendall(
            (f"POST /graphql HTTP/1.1\r\nHost: {host.netloc}\r\nAuthorization: Basic {key}\r\n"
             f"Content-Type: application/json\r\nContent-Length: {33 << 20}\r\n\r\n").encode()
            + b'{"query": "')
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            piece = sock.recv(65536)
            if not piece:
                break
            answer += piece
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), head
    assert b"over 32 MiB" in body, body


def test_no_wandb_turns_the_layer_off(registry, tmp_path):
    from conftest import start
    import os
    binary = os.environ.get("CAIRN_BIN")
    env = dict(os.environ, CAIRN_ADMIN_TOKEN=registry["token"], RUST_LOG="error")
    with open(tmp_path / "log", "w") as log:
        proc, url = start(binary, ["--no-wandb", "--data-dir", str(tmp_path / "d"),
                                   "--web-dir", str(tmp_path / "no-web")], env, log)
        try:
            r = requests.post(url + "/graphql", auth=("api", registry["token"]),
                              json={"query": "query Viewer { viewer { id } }"})
            assert r.status_code == 404, r.status_code
            assert "--no-wandb" in r.json()["errors"][0]["message"]
            assert requests.get(url + "/api/v1/health").status_code == 200
        finally:
            proc.terminate()
            proc.wait(timeout=20)
