"""What every remote command shares: the gateway address, the token, output as tables or JSON."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import httpx


def default_url() -> str:
    """HHPU_URL, else the port `make run` uses (HHPU_PORT, default 8000) on 127.0.0.1."""
    return os.environ.get("HHPU_URL") or f"http://127.0.0.1:{os.environ.get('HHPU_PORT', '8000')}"


def client(args: argparse.Namespace) -> httpx.Client:
    token = args.token or os.environ.get("HHPU_TOKEN")
    if not token:
        from hhpu.demo import staff_tokens

        token = staff_tokens()[args.role]
    return httpx.Client(base_url=args.url, headers={"Authorization": f"Bearer {token}"}, timeout=300)


def check(resp: httpx.Response) -> Any:
    """The body of a successful answer; a problem is printed readably and the command exits 1."""
    if resp.status_code >= 400:
        try:
            p = resp.json()
            msg = f"{resp.status_code} {p.get('title', '')}: {p.get('detail', '')}"
            for err in p.get("errors", []):
                msg += f"\n  {err.get('field')}: {err.get('code')} ({err.get('message')})"
        except ValueError:
            msg = f"{resp.status_code} {resp.text[:500]}"
        print(f"error: {msg}", file=sys.stderr)
        raise SystemExit(1)
    ctype = resp.headers.get("content-type", "")
    return resp.json() if ctype.startswith(("application/json", "application/problem+json")) else resp.content


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value)
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, width: int = 48) -> str:
    """A plain-text table: columns padded to their widest cell (cut at `width`)."""
    text = [[cell(c)[:width] for c in r] for r in rows]
    widths = [max([len(h), *(len(r[i]) for r in text)]) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in text]
    return "\n".join(out)


def emit(args: argparse.Namespace, body: Any, human: str) -> None:
    """`--json`: the body as JSON for scripts; otherwise the readable form."""
    if getattr(args, "json", False):
        print(json.dumps(body, indent=2, default=str))
    else:
        print(human)


def progress(args: argparse.Namespace, **bar: Any) -> Any:
    """A progress bar (tqdm) on standard error: shown on a terminal, or anywhere with --progress;
    never with --json, whose reader wants standard output alone and standard error quiet."""
    from tqdm import tqdm

    wanted = getattr(args, "progress", False) or sys.stderr.isatty()
    return tqdm(file=sys.stderr, disable=getattr(args, "json", False) or not wanted, **bar)


def write_bytes(data: bytes, out: str | None) -> None:
    if out and out != "-":
        with open(out, "wb") as f:
            f.write(data)
        print(f"written {out} ({len(data):,} bytes)", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)


def add_remote(sp: argparse.ArgumentParser, role: str) -> None:
    sp.add_argument("--url", default=default_url(), help="gateway address (HHPU_URL; default from HHPU_PORT)")
    sp.add_argument("--token", help="bearer token (default: HHPU_TOKEN, else a development token)")
    sp.add_argument("--role", default=role, help=f"role of the development token without --token ({role})")
    sp.add_argument("--json", action="store_true", help="print the JSON answer, for scripts")
    sp.add_argument(
        "--progress", action="store_true", help="progress bars even when standard error is not a terminal"
    )
