# Shell helpers for docs/walkthrough.md: `source docs/walkthrough-helpers.sh` in bash, in the
# repository's root, while `make run` serves the demo. They read $CREDS, $API and $J, which the
# walkthrough sets right after sourcing this file.

# tok ROLE: the demo's bearer token for a staff role (administrator, analyst, unit_supervisor, ...)
tok() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['tokens'][sys.argv[2]])" "$CREDS" "$1"; }

# key AGENCY / aid AGENCY: a demo partner agency's API key / id (drug_and_alcohol_service, housing, ...)
key() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['agency_keys'][sys.argv[2]])" "$CREDS" "$1"; }
aid() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['agency_ids'][sys.argv[2]])" "$CREDS" "$1"; }

# api ROLE CURL-ARGS...: curl as that staff role, with the justification header and a JSON body type.
# An error status stops the command and shows the problem+json (--fail-with-body).
api() {
  local role=$1
  shift
  curl -sS --fail-with-body -H "Authorization: Bearer $(tok "$role")" -H "$J" \
    -H 'Content-Type: application/json' "$@"
}

# partner AGENCY CURL-ARGS...: the same as a partner agency, with its API key
partner() {
  local agency=$1
  shift
  curl -sS --fail-with-body -H "X-API-Key: $(key "$agency")" -H "$J" \
    -H 'Content-Type: application/json' "$@"
}

# ... | rows [@KEY] FIELD...: the JSON on standard input as a table of those fields, one line per
# item of a page (or per element of the list under KEY, or the one object). `a.b` reaches inside
# `a`; through a list it gives every element's `b`.
rows() {
  python3 -c '
import json, sys

def cell(value, keys=()):
    for n, k in enumerate(keys):
        if isinstance(value, list):
            return ", ".join(cell(v, keys[n:]) for v in value)
        value = value.get(k) if isinstance(value, dict) else None
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    if isinstance(value, list):
        return ", ".join(cell(v) for v in value)
    return "" if value is None else str(value)

doc, fields = json.load(sys.stdin), sys.argv[1:]
if fields and fields[0].startswith("@"):
    doc, fields = doc[fields[0][1:]], fields[1:]
items = doc.get("items", [doc]) if isinstance(doc, dict) else doc
table = [fields] + [[cell(item, f.split("."))[:80] for f in fields] for item in items]
widths = [max(len(r[c]) for r in table) for c in range(len(fields))]
for r in table:
    print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
' "$@"
}

# ... | pick EXPR: a Python expression over the JSON on standard input, `d`, printed
pick() { python3 -c "import json,sys; d = json.load(sys.stdin); print($1)"; }

# poll CHECK: run the shell command CHECK every second until it succeeds, for 30 seconds at most
# (an event takes a moment to travel from one service to another)
poll() {
  local _
  for _ in $(seq 30); do
    eval "$1" && return 0
    sleep 1
  done
  echo "still not so after 30 seconds: $1" >&2
  return 1
}
