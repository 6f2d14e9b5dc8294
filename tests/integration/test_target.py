"""sqslab.target: offline is the default, AWS only by opt-in, and offline never leaves loopback."""


from __future__ import annotations

import socket

from sqslab import target


def test_offline_client_sends_nothing_beyond_loopback(offline, monkeypatch, tmp_path):
    """With real-looking credentials, a profile, a config file that names a remote
    endpoint, and proxies in the environment, an offline client still talks only to
    127.0.0.1 and signs with the fake key."""
    cfg = tmp_path / "config"
    cfg.write_text("[profile prod]\nregion = eu-west-2\nendpoint_url = http://10.20.30.40:9999\n")
    creds = tmp_path / "credentials"
    creds.write_text("[prod]\naws_access_key_id = AKIAPRODPROFILEKEY00\naws_secret_access_key = s\n")
    for k, v in {
        "AWS_ACCESS_KEY_ID": "AKIAREALLOOKINGKEY01",
        "AWS_SECRET_ACCESS_KEY": "real-looking-secret",
        "AWS_SESSION_TOKEN": "real-looking-token",
        "AWS_PROFILE": "prod",
        "AWS_CONFIG_FILE": str(cfg),
        "AWS_SHARED_CREDENTIALS_FILE": str(creds),
        "AWS_ENDPOINT_URL": "http://10.20.30.41:9999",
        "AWS_REGION": "eu-west-2",
        "HTTP_PROXY": "http://10.20.30.42:3128",
        "HTTPS_PROXY": "http://10.20.30.42:3128",
        "http_proxy": "http://10.20.30.42:3128",
    }.items():
        monkeypatch.setenv(k, v)

    connected: list = []
    real_connect = socket.socket.connect

    def spy_connect(self, address):
        connected.append(address)
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", spy_connect)
    seen: list = []

    sqs = target.client("sqs", "offline")
    lam = target.client("lambda", "offline")
    for c in (sqs, lam):
        c.meta.events.register("before-send", lambda request, **kw: seen.append(request))
    url = sqs.create_queue(QueueName="loopback-check")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    lam.list_functions()

    assert connected, "no connection was observed"
    assert all(addr[0] == "127.0.0.1" for addr in connected), connected
    assert seen and all(r.url.startswith(offline.endpoint_url) for r in seen)
    auth = [r.headers["Authorization"].decode() if isinstance(r.headers["Authorization"], bytes) else r.headers["Authorization"] for r in seen]
    key = target.offline_credentials().access_key  # the offline server's own key, never the user's
    assert all(f"Credential={key}/" in a for a in auth), auth
    assert all(b"real-looking-token" not in (r.headers.get("X-Amz-Security-Token") or b"") for r in seen)
    assert sqs.meta.region_name == target.OFFLINE_REGION


def test_sessions_share_one_model_loader_without_piling_up_its_search_paths():
    from sqslab import target

    made = [target.session("offline") for _ in range(5)]
    loaders = {id(s._session.get_component("data_loader")) for s in made}
    assert loaders == {id(target._LOADER)}
    paths = target._LOADER.search_paths
    assert len(paths) == len(set(paths)), "boto3 adds its data folder per session: kept once"
    target.warm_models(("sqs",))  # sends nothing: the address it names has no server
