"""The gateway commands: development tokens and keys, and partner keys issued through a running gateway."""

from __future__ import annotations

import json
from typing import Any

from gateway.app import create_app
from gateway.cli import main
from gateway.settings import GatewaySettings
from gateway.testing import ServerThread, free_port, make_echo, settings
from gateway.tokens import JwtVerifier
from hhpu_shared.testing.databases import migrated
from referral_api.app import create_app as referral_app
from referral_api.migrations import MIGRATIONS
from referral_api.settings import ReferralSettings


def test_mint_token_verifies(capsys) -> None:  # type: ignore[no-untyped-def]
    assert (
        main(["mint-token", "--sub", "u1", "--role", "offender_manager", "--role", "analyst", "--ttl", "60"])
        == 0
    )
    token = capsys.readouterr().out.strip()
    p = JwtVerifier(GatewaySettings()).verify(token)
    assert p.subject == "u1" and p.roles == frozenset({"offender_manager", "analyst"})


def test_gen_dev_keys_and_rs256_token(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["gen-dev-keys", "--out", str(tmp_path), "--kid", "k9"]) == 0
    capsys.readouterr()
    key = tmp_path / "private.pem"
    assert (
        main(["mint-token", "--sub", "u2", "--role", "analyst", "--private-key", str(key), "--kid", "k9"])
        == 0
    )
    token = capsys.readouterr().out.strip()
    v = JwtVerifier(GatewaySettings(jwt_jwks_file=str(tmp_path / "jwks.json"), jwt_dev_secret=""))
    assert v.verify(token).subject == "u2"
    assert json.loads((tmp_path / "jwks.json").read_text())["keys"][0]["kid"] == "k9"


def test_create_agency_key_without_gateway_prints_instructions(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["create-agency-key", "--gateway", f"http://127.0.0.1:{free_port()}"]) == 1
    assert "POST" in capsys.readouterr().err


def test_create_agency_key_through_gateway(sqlite_url: str, capsys) -> None:  # type: ignore[no-untyped-def]
    ref = referral_app(ReferralSettings(database_url=migrated(MIGRATIONS, sqlite_url)), run_consumer=False)
    others: dict[str, Any] = {s: make_echo(s) for s in ("ranking-service", "case-service", "meeting-service")}
    gw = create_app(settings(), asgi_apps={"referral-api": ref, **others})
    try:
        with ServerThread(gw, lifespan="on") as server:
            assert main(["create-agency-key", "--agency-name", "CLI agency", "--gateway", server.url]) == 0
            out = capsys.readouterr().out
            assert "agency created" in out and "key:" in out
    finally:
        ref.state.runtime.engine.dispose()
