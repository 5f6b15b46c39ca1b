"""Build the ranking-service's ``cchi-2020`` weight edition from the published CCHI 2020 sheet.

    python services/ranking-service/scripts/build_cchi_edition.py [--check]

Inputs (all in ``services/ranking-service/data/cchi/``, reviewable by the unit):

- ``cchi-2020.csv``: every row of the CCHI 2020 values sheet (698 rows, 517 Home Office classes).
  Source: *The Cambridge Crime Harm Index 2020 Update*, Cambridge Centre for Evidence Based Policing
  (current with the England and Wales sentencing guidelines as of 6 October 2020).
- ``cchi-variants.csv``: the variant suffix of every row of a class whose rows carry different scores
  (``008/01#serious``, ``008/01#minor``, ...), and whether the row is the general form of the offence
  or a special one (assault on a police officer, distraction burglary, several offenders, outcomes-only).
- ``cchi-domains.csv``: the high-harm domains of each class, from its Home Office group, sub-group,
  sub-sub-group or title (a case-insensitive regular expression per rule; every matching rule adds).

Rules written into the edition:

- A class whose rows all carry one score is one entry (its plain code).
- A class whose rows carry different scores gets one entry per row (``code#suffix``) and a default
  for the plain code: the most serious completed (not attempted) row of the general form. An export
  that carries the suffix gets the exact row; one that does not gets the default, and each run counts
  those offences per code in its data-quality report.
- Domains: a variant entry (``code#suffix``) gets its own row's. A plain code gets only the domains
  that every row it may stand for carries, because an export that gives no suffix may be any of them:
  for a class with one score, all its rows (a non-notifiable duplicate row, which has no Home Office
  group, is left out); for a class with several, its general-form rows. For every class but two
  that is exactly its default (or only) row's domains. The two: ``002/00`` (attempted murder) is
  serious violence but not child abuse (one of its three rows is of a victim under 1 year; the code
  does not say which); and ``099/99`` (other notifiable offences, mostly fraud) gets none, neither
  the hate crime and serious violence of its outcomes-only racially aggravated GBH row nor the sexual
  offending of its default row, the conspiracy to commit a listed sexual offence (10 days): its
  un-suffixed offences are mostly fraud, which must not enter the high-harm scope as sexual offending.
  ``099/99#sexual_conspiracy`` itself is sexual offending.
- Sexual offences outside the sexual-offences group: a breach of an order made to prevent sexual harm
  (``068/07`` sexual risk order or risk of sexual harm order, ``068/08`` SHPO, SOPO or foreign travel
  order) is sexual offending. A failure to notify the police (``066/17``, ``066/18``, ``066/85``)
  is not: it is a breach of the notification requirements, with no sexual act and no protective order.
- ``fallback_days`` (the weight of a code missing from the edition) is the median of the classes'
  scores; ``serious_days`` (365) is the score from which a class counts as possibly serious harm.

``--check`` exits 1 when the packaged edition differs from what the inputs give (CI, tests).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

SERVICE = Path(__file__).resolve().parents[1]
DATA = SERVICE / "data" / "cchi"
OUTPUT = SERVICE / "src" / "ranking_service" / "data" / "weights" / "cchi-2020.json"
SOURCE = (
    "The Cambridge Crime Harm Index 2020 Update, Cambridge Centre for Evidence Based Policing (current "
    "with the England and Wales sentencing guidelines as of 6 October 2020): every row of the CCHI 2020 "
    "values sheet"
)
SERIOUS_DAYS = 365.0


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def normal_code(code: str) -> str:
    """``NNN/NN``; the sheet writes one code as ``00200`` (it is ``002/00``)."""
    code = code.strip()
    if re.fullmatch(r"\d{5}", code):
        return f"{code[:3]}/{code[3:]}"
    if not re.fullmatch(r"\d{3}/\d{2}", code):
        raise ValueError(f"unexpected Home Office code {code!r}")
    return code


def _days(row: dict[str, str]) -> float:
    return float(row["cchi_days"])


def _attempt(row: dict[str, str]) -> bool:
    return row["athena_urn"].endswith("A") or row["title"].lower().startswith("attempt")


def domains_of(row: dict[str, str], rules: list[dict[str, str]]) -> list[str]:
    out: set[str] = set()
    for rule in rules:
        if re.search(rule["pattern"], row[rule["column"]], flags=re.IGNORECASE):
            out.update(d for d in rule["domains"].split(";") if d)
    return sorted(out)


def shared_domains(rows: list[dict[str, str]], rules: list[dict[str, str]]) -> list[str]:
    """The domains every one of `rows` carries (non-notifiable duplicate rows left out)."""
    notifiable = [r for r in rows if r["group"] != "NON-NOTIFIABLE"] or rows
    return sorted(set.intersection(*(set(domains_of(r, rules)) for r in notifiable)))


def _label(row: dict[str, str]) -> str:
    return re.sub(r"\s+", " ", row["short_title"] or row["title"]).strip()


def build(data: Path = DATA) -> dict[str, Any]:
    sheet = read_csv(data / "cchi-2020.csv")
    variants = {v["athena_urn"]: v for v in read_csv(data / "cchi-variants.csv")}
    rules = read_csv(data / "cchi-domains.csv")
    by_code: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in sheet:
        by_code[normal_code(row["ho_code"])].append(row)
    weights: list[dict[str, Any]] = []
    used: set[str] = set()
    for code in sorted(by_code):
        rows = by_code[code]
        scores = {_days(r) for r in rows}
        if len(scores) == 1:
            first = next((r for r in rows if not _attempt(r)), rows[0])
            doms = shared_domains(rows, rules)
            weights.append(
                {
                    "code": code,
                    "days": _days(first),
                    "label": _label(first),
                    "domains": doms,
                    "group": first["group"] or first["sub_group"],
                    "rows": sorted(r["athena_urn"] for r in rows),
                }
            )
            continue
        missing = [r["athena_urn"] for r in rows if r["athena_urn"] not in variants]
        if missing:
            raise ValueError(
                f"{code}: rows with different scores need a suffix in cchi-variants.csv: {missing}"
            )
        general = [r for r in rows if variants[r["athena_urn"]]["form"] == "general" and not _attempt(r)]
        if not general:
            raise ValueError(f"{code}: no general completed row to default to")
        default = max(general, key=lambda r: (_days(r), r["athena_urn"]))
        keys = []
        for r in sorted(rows, key=lambda r: (-_days(r), r["athena_urn"])):
            v = variants[r["athena_urn"]]
            if v["ho_code"] != code:
                raise ValueError(f"{r['athena_urn']}: variants file says {v['ho_code']}, sheet says {code}")
            used.add(r["athena_urn"])
            keys.append(f"{code}#{v['suffix']}")
            weights.append(
                {
                    "code": keys[-1],
                    "days": _days(r),
                    "label": _label(r),
                    "domains": domains_of(r, rules),
                    "group": r["group"] or r["sub_group"],
                    "rows": [r["athena_urn"]],
                    "form": v["form"],
                }
            )
        weights.append(
            {
                "code": code,
                "days": _days(default),
                "label": f"default (no variant in the export): {_label(default)}",
                "domains": shared_domains(
                    [r for r in rows if variants[r["athena_urn"]]["form"] == "general"], rules
                ),
                "group": default["group"] or default["sub_group"],
                "rows": [default["athena_urn"]],
                "default_of": keys,
            }
        )
    unused = sorted(set(variants) - used)
    if unused:
        raise ValueError(f"cchi-variants.csv names rows that need no suffix: {unused}")
    class_scores = [w["days"] for w in weights if "#" not in w["code"]]
    return {
        "edition": "cchi-2020",
        "name": "Cambridge Crime Harm Index 2020",
        "unit": "days of imprisonment at the sentencing-guideline starting point (first offender)",
        "source": SOURCE,
        "valid_from": "2020-10-06",
        "built_by": "services/ranking-service/scripts/build_cchi_edition.py",
        "sheet_rows": len(sheet),
        "classes": len(by_code),
        "fallback_days": statistics.median(class_scores),
        "serious_days": SERIOUS_DAYS,
        "notes": (
            "'code#suffix' is one row of a class whose rows carry different scores; the plain code of "
            "such a class is its default: the most serious completed row of the general form "
            "(data/cchi/cchi-variants.csv). Domains come from the Home Office groups "
            "(data/cchi/cchi-domains.csv); a plain code carries only the domains shared by every row it may "
            "stand for (scripts/build_cchi_edition.py); the export's domestic_abuse and hate_crime flags add "
            "theirs. "
            "A code missing from the edition is scored with fallback_days and reported."
        ),
        "weights": weights,
    }


def render(doc: dict[str, Any]) -> str:
    """JSON with one weight per line (reviewable diffs)."""
    head = {k: v for k, v in doc.items() if k != "weights"}
    lines = json.dumps(head, indent=2, ensure_ascii=False)[:-2]
    body = ",\n".join("    " + json.dumps(w, ensure_ascii=False) for w in doc["weights"])
    return f'{lines},\n  "weights": [\n{body}\n  ]\n}}\n'


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="fail if the packaged edition is out of date")
    p.add_argument("--output", type=Path, default=OUTPUT)
    args = p.parse_args(argv)
    text = render(build())
    if args.check:
        same = args.output.is_file() and args.output.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{args.output} is out of date: run this script")  # noqa: T201
        return 0 if same else 1
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
