"""The built-in upstream client against a real uvicorn: keep-alive reuse, idle connections closed by the
upstream, chunked request bodies, HEAD, query strings and percent-encoded paths kept byte for byte."""

from __future__ import annotations

import time

from gateway.testing import ServerThread, bearer, make_echo

from gateway import policy

URL = "/api/v1/referrals"


def test_keepalive_reuse_and_upstream_idle_close(gateway_client) -> None:  # type: ignore[no-untyped-def]
    with ServerThread(make_echo("referral-api"), timeout_keep_alive=0.3) as up:
        client = gateway_client(upstream_client="builtin", upstreams={"referral-api": up.url})
        pool = client.app.upstreams["referral-api"].pool  # type: ignore[attr-defined]
        pool.idle_s = 60.0  # keep our side longer than the upstream's keep-alive to force the race
        h = bearer(policy.AD)
        for _ in range(3):
            assert client.get(URL, headers=h).status_code == 200
        assert len(pool.idle) == 1  # one connection, reused
        time.sleep(0.6)  # the upstream closes the idle connection
        assert client.get(URL, headers=h).status_code == 200
        assert client.post(URL, headers=h, json={"a": 1}).status_code == 200


def test_chunked_request_head_and_raw_path(gateway_client) -> None:  # type: ignore[no-untyped-def]
    with ServerThread(make_echo("referral-api")) as up:
        client = gateway_client(upstream_client="builtin", upstreams={"referral-api": up.url})
        h = bearer(policy.AD)
        r = client.post(URL, headers=h, content=iter([b"a" * 10, b"b" * 20000, b"c"]))
        assert r.status_code == 200 and r.json()["body_len"] == 20011
        r = client.head(URL, headers=h)
        assert r.status_code == 200 and r.content == b"" and int(r.headers["content-length"]) > 0
        r = client.get(f"{URL}/ab%20c?x=1&y=%C3%A9", headers=h)
        assert r.json()["path"] == f"{URL}/ab c" and r.json()["query"] == "x=1&y=%C3%A9"
        assert client.get(URL, headers=h).status_code == 200  # connection still usable after HEAD


def test_upstream_answering_before_reading_the_body(gateway_client, upstream_client) -> None:  # type: ignore[no-untyped-def]
    with ServerThread(make_echo("referral-api")) as up:
        client = gateway_client(
            upstream_client=upstream_client, upstreams={"referral-api": up.url}, max_body_bytes=20_000_000
        )
        h = bearer(policy.AD)
        r = client.post(f"{URL}/r1/early", headers=h, content=b"x" * 8_000_000)
        assert r.status_code == 413 and r.text == "early"  # relayed, not a 502 and not a hang
        assert client.get(URL, headers=h).status_code == 200
