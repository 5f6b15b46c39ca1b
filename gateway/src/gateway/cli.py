"""Gateway commands: development tokens and keys, and partner API keys via the referral-api admin API.

python -m gateway.cli mint-token --sub u1 --role offender_manager [--ttl 3600]
python -m gateway.cli gen-dev-keys --out .run/jwt        (RS256 pair + JWKS for GATEWAY_JWT_JWKS_FILE)
python -m gateway.cli create-agency-key --agency-id A1 [--gateway http://127.0.0.1:8000]
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

from pydantic import ValidationError

from .settings import GatewaySettings
from .tokens import generate_dev_keypair, mint_dev_token


def _settings() -> GatewaySettings | None:
    try:
        return GatewaySettings()
    except ValidationError as exc:
        msg = "; ".join(str(e.get("msg", "")) for e in exc.errors())
        print(
            f"gateway settings refused: {msg}\n(development tokens: set GATEWAY_ENVIRONMENT=development)",
            file=sys.stderr,
        )
        return None


def _mint(args: argparse.Namespace) -> int:
    s = _settings()
    if s is None:
        return 2
    pem = Path(args.private_key).read_text() if args.private_key else None
    if not pem and not s.jwt_dev_secret:
        print("no development signer: set GATEWAY_JWT_DEV_SECRET or pass --private-key", file=sys.stderr)
        return 2
    print(
        mint_dev_token(
            args.sub,
            args.role,
            name=args.name,
            agency=args.agency,
            ttl_s=args.ttl,
            secret=s.jwt_dev_secret or "",
            issuer=s.jwt_issuer,
            audience=s.jwt_audience,
            private_key_pem=pem,
            kid=args.kid,
        )
    )
    return 0


def _gen_keys(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pem, jwks = generate_dev_keypair(args.kid)
    (out / "private.pem").write_text(pem)
    (out / "private.pem").chmod(0o600)
    (out / "jwks.json").write_text(json.dumps(jwks, indent=2))
    print(f"wrote {out / 'private.pem'} and {out / 'jwks.json'}")
    print(f"gateway: GATEWAY_JWT_JWKS_FILE={out / 'jwks.json'}")
    print(
        f"tokens:  python -m gateway.cli mint-token --private-key {out / 'private.pem'} --kid {args.kid} ..."
    )
    return 0


def _request(url: str, token: str, body: dict[str, object]) -> dict[str, object]:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - operator-given URL
        doc: dict[str, object] = json.loads(resp.read())
        return doc


def _create_key(args: argparse.Namespace) -> int:
    token = args.token
    if not token:
        s = _settings()
        if s is None or not s.jwt_dev_secret:
            print("pass --token (an administrator bearer token) outside development", file=sys.stderr)
            return 2
        token = mint_dev_token("cli:admin", ["administrator"], ttl_s=300, secret=s.jwt_dev_secret)
    base = args.gateway.rstrip("/")
    try:
        agency_id = args.agency_id
        if not agency_id:
            agency = _request(
                f"{base}/api/v1/agencies",
                token,
                {"name": args.agency_name, "agency_type": args.agency_type, "contact_name": args.contact},
            )
            agency_id = str(agency["id"])
            print(f"agency created: {agency_id}")
        body: dict[str, object] = {"label": args.label} if args.label else {}
        issued = _request(f"{base}/api/v1/agencies/{agency_id}/keys", token, body)
    except (urllib.error.URLError, OSError, KeyError) as exc:
        detail = exc.read().decode() if isinstance(exc, urllib.error.HTTPError) else str(exc)
        print(f"could not reach the referral-api through {base}: {detail}", file=sys.stderr)
        print(
            "Start the platform (make run), then retry; or as an administrator call\n"
            f"  POST {base}/api/v1/agencies/<agency_id>/keys  with  Authorization: Bearer <admin token>\n"
            "  (mint one with: python -m gateway.cli mint-token --sub me --role administrator)\n"
            "The full key is shown only in that response; partners send it as X-API-Key.",
            file=sys.stderr,
        )
        return 1
    print(f"key_id: {issued['key_id']}")
    print(f"key:    {issued['key']}   (shown once; send as X-API-Key)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.cli")
    sub = parser.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("mint-token", help="a development staff token (JWT)")
    m.add_argument("--sub", required=True)
    m.add_argument("--role", action="append", required=True, help="repeat for several roles")
    m.add_argument("--name")
    m.add_argument("--agency")
    m.add_argument("--ttl", type=int, default=3600)
    m.add_argument("--private-key", help="RS256 private key PEM (gen-dev-keys); default: HS256 dev secret")
    m.add_argument("--kid", default="dev-1")
    m.set_defaults(fn=_mint)
    g = sub.add_parser("gen-dev-keys", help="an RS256 key pair and JWKS for a development identity provider")
    g.add_argument("--out", default=".run/jwt")
    g.add_argument("--kid", default="dev-1")
    g.set_defaults(fn=_gen_keys)
    k = sub.add_parser("create-agency-key", help="issue a partner API key through the gateway")
    k.add_argument("--agency-id", help="existing agency; omit to create one with --agency-name")
    k.add_argument("--agency-name", default="Development partner agency")
    k.add_argument("--agency-type", default="other")
    k.add_argument("--contact", default="Referrals lead")
    k.add_argument("--label")
    k.add_argument("--gateway", default="http://127.0.0.1:8000")
    k.add_argument("--token", help="administrator bearer token (default: a development token)")
    k.set_defaults(fn=_create_key)
    args = parser.parse_args(argv)
    return int(args.fn(args))


if __name__ == "__main__":
    raise SystemExit(main())
