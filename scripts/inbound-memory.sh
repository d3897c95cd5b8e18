#!/usr/bin/env bash
# Measures what one large email costs the server: starts the real binary on
# a fresh SQLite database with its SMTP receiver, sends one email of SIZE_MB
# (default 25: a 4 MB text body and a base64 attachment filling the rest,
# just under --smtp-max-size) with Python's smtplib, and prints the server's
# resident memory before, after, and at its peak (VmHWM).
#
#   bash scripts/inbound-memory.sh            # 25 MB
#   SIZE_MB=10 bash scripts/inbound-memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${SIZE_MB:-25}
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
go build -o "$dir/switchboard" ./cmd/switchboard
db="sqlite:$dir/sb.db"
"$dir/switchboard" migrate --database-url "$db" >/dev/null 2>&1
"$dir/switchboard" account create --database-url "$db" --name Acme >/dev/null
"$dir/switchboard" inbox create --database-url "$db" --account 1 --kind email --address help@acme.example >/dev/null
"$dir/switchboard" serve --database-url "$db" --addr 127.0.0.1:0 --smtp-listen 127.0.0.1:0 >"$dir/out" 2>"$dir/log" &
pid=$!
for _ in $(seq 100); do grep -q '"smtp: listening"' "$dir/log" && break; sleep 0.1; done
addr=$(grep '"smtp: listening"' "$dir/log" | sed -E 's/.*"addr":"([^"]+)".*/\1/')
rss() { awk -v k="$1:" '$1==k {print $2/1024 " MB"}' "/proc/$pid/status"; }
echo "before: VmRSS $(rss VmRSS), VmHWM $(rss VmHWM)"
python3 - "$addr" "$SIZE_MB" <<'PY'
import smtplib, sys, base64, os
host, port = sys.argv[1].rsplit(":", 1)
size = int(sys.argv[2]) << 20
text = ("All work and no play makes Jack a dull boy.\r\n" * ((4 << 20) // 45))[: 4 << 20]
raw = os.urandom(int((size - len(text) - 65536) * 3 / 4 * 76 / 78))
att = base64.encodebytes(raw).decode().replace("\n", "\r\n")
msg = ("From: Ann <ann@example.com>\r\nTo: help@acme.example\r\nSubject: big\r\nMessage-ID: <big@example.com>\r\n"
       "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
       + text + "\r\n--b\r\nContent-Type: application/octet-stream; name=big.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n"
       + att + "\r\n--b--\r\n")
print("message: %.1f MB" % (len(msg) / 1048576))
with smtplib.SMTP(host, int(port)) as s:
    s.sendmail("ann@example.com", ["help@acme.example"], msg)
PY
echo "after:  VmRSS $(rss VmRSS), VmHWM $(rss VmHWM)"
python3 - "$dir/sb.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n, = db.execute("SELECT COUNT(*) FROM messages WHERE source_ref = '<big@example.com>'").fetchone()
files = db.execute("SELECT name, size FROM attachments").fetchall()
print("stored: %d message, attachments %s" % (n, ", ".join("%s %.1f MB" % (f, s / 1048576) for f, s in files)))
PY
