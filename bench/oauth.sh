#!/usr/bin/env bash
# OAuth benchmarks (issue #4). Prints figures; asserts nothing.
#   - a whole headless authorization: register (DCR) → authorize → consent
#     (approving the new client) → token, with a signed-in owner (median of 20)
#   - token endpoint throughput, `authorization_code` grant: codes minted
#     beforehand (consent skipped for a covered grant), then exchanged by
#     BENCH_WORKERS concurrent clients
#   - token endpoint throughput, `refresh_token` grant: each worker rotates
#     its own refresh-token family for BENCH_SECONDS
#   - password login: median wall time (argon2id-bound), and /health latency
#     while BENCH_WORKERS logins run back to back (they must not stall it)
# Needs python3 with `requests` (pip install -r tests/clients/requirements.txt);
# release build. The load generator is Python (one keep-alive connection per
# worker), so the throughput figures are a floor of what the hub can do.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=$PWD/target/release/parachute
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export PARACHUTE_HOME=$work/home PORT=$port PARACHUTE_HUB_ORIGIN=http://127.0.0.1:$port
unset PARACHUTE_BIND_HOST LISTEN_FDS LISTEN_PID NOTIFY_SOCKET
password='correct horse battery staple'

hub_pid=
cleanup() {
    if [[ -n $hub_pid ]]; then kill "$hub_pid" 2>/dev/null || true; wait "$hub_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$PARACHUTE_HOME"
printf '%s\n' "$password" | "$bin" auth set-password --password-stdin >/dev/null 2>&1
echo '{"services":[{"name":"parachute-vault","port":1940,"paths":["/vault/bench"],"health":"/vault/bench/health","version":"0.0.0"}]}' \
    >"$PARACHUTE_HOME/services.json"
PARACHUTE_LOG=warn "$bin" serve >"$work/hub.log" 2>&1 &
hub_pid=$!
for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    sleep 0.05
done

echo "parachute $("$bin" --version | awk '{print $2}'), $(nproc) CPUs, release build"
python3 - "$port" "$password" "$(cat "$PARACHUTE_HOME/operator.token")" "${BENCH_WORKERS:-4}" "${BENCH_SECONDS:-5}" <<'PY'
import base64, hashlib, http.client, json, re, secrets, statistics, sys, threading, time
from html import unescape
from urllib.parse import urlencode, urlparse, parse_qs

import requests

port, password, operator, workers, seconds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
ISS = f"http://127.0.0.1:{port}"
RES = f"{ISS}/vault/bench/mcp"
REDIRECT = "http://127.0.0.1:1/cb"


def pkce():
    v = secrets.token_urlsafe(48)
    c = base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).rstrip(b"=").decode()
    return v, c


def hidden(html):
    return {k: unescape(v) for k, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html)}


def login(browser, ip):
    page = browser.get(f"{ISS}/login", headers={"X-Forwarded-For": ip})
    t = time.perf_counter()
    r = browser.post(f"{ISS}/login", data={**hidden(page.text), "username": "owner", "password": password},
                     headers={"Origin": ISS, "X-Forwarded-For": ip}, allow_redirects=False)
    assert r.status_code == 303, r.text
    return (time.perf_counter() - t) * 1000


def authorize_url(client_id, challenge, scope="vault:read"):
    return f"{ISS}/oauth/authorize?" + urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT, "scope": scope,
        "state": "s", "code_challenge": challenge, "code_challenge_method": "S256", "resource": RES})


def code_from(r):
    assert r.status_code == 303, (r.status_code, r.text[:300])
    return parse_qs(urlparse(r.headers["Location"]).query)["code"][0]


browser = requests.Session()
login(browser, "10.0.0.1")

# 1. A whole headless authorization, new client each time.
times = []
for i in range(20):
    t = time.perf_counter()
    c = requests.post(f"{ISS}/oauth/register", json={"client_name": f"bench-{i}", "redirect_uris": [REDIRECT],
                                                     "token_endpoint_auth_method": "none"}).json()
    v, ch = pkce()
    page = browser.get(authorize_url(c["client_id"], ch), allow_redirects=False)
    r = browser.post(f"{ISS}/oauth/authorize", data={**hidden(page.text), "decision": "approve"},
                     headers={"Origin": ISS}, allow_redirects=False)
    tok = requests.post(f"{ISS}/oauth/token", data={"grant_type": "authorization_code", "code": code_from(r),
                        "client_id": c["client_id"], "redirect_uri": REDIRECT, "code_verifier": v, "resource": RES})
    assert tok.status_code == 200, tok.text
    times.append((time.perf_counter() - t) * 1000)
print(f"headless authorization (register → authorize → consent → token): median {statistics.median(times):.1f} ms, "
      f"p90 {sorted(times)[17]:.1f} ms (n=20)")

# An approved client with a grant: authorize skips consent and answers a code.
c = requests.post(f"{ISS}/oauth/register", json={"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"},
                  headers={"Authorization": f"Bearer {operator}"}).json()
cid = c["client_id"]
v, ch = pkce()
page = browser.get(authorize_url(cid, ch), allow_redirects=False)
browser.post(f"{ISS}/oauth/authorize", data={**hidden(page.text), "decision": "approve"}, headers={"Origin": ISS},
             allow_redirects=False)


def run(workers, fn):
    """Run fn(conn, i) in `workers` threads, each with one keep-alive connection; count successes."""
    done, errors = [0] * workers, [0] * workers
    def worker(i):
        conn = http.client.HTTPConnection("127.0.0.1", int(port))
        done[i], errors[i] = fn(conn, i)
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    t = time.perf_counter()
    for th in ts: th.start()
    for th in ts: th.join()
    return sum(done), sum(errors), time.perf_counter() - t


def post(conn, body):
    conn.request("POST", "/oauth/token", body=urlencode(body), headers={"Content-Type": "application/x-www-form-urlencoded"})
    r = conn.getresponse()
    data = r.read()
    return r.status, data

# 2. authorization_code grant throughput.
n_codes = 1500
pairs = []
t = time.perf_counter()
for _ in range(n_codes):
    v, ch = pkce()
    pairs.append((code_from(browser.get(authorize_url(cid, ch), allow_redirects=False)), v))
mint_rate = n_codes / (time.perf_counter() - t)
lock = threading.Lock()
def exchange(conn, i):
    ok = err = 0
    while True:
        with lock:
            if not pairs: return ok, err
            code, v = pairs.pop()
        status, _ = post(conn, {"grant_type": "authorization_code", "code": code, "client_id": cid,
                                "redirect_uri": REDIRECT, "code_verifier": v, "resource": RES})
        ok, err = (ok + 1, err) if status == 200 else (ok, err + 1)
ok, err, secs = run(workers, exchange)
print(f"token endpoint, authorization_code: {ok / secs:.0f} grants/s ({ok} in {secs:.1f} s, {workers} workers, {err} errors); "
      f"authorize without consent (one client): {mint_rate:.0f} codes/s")

# 3. refresh_token grant throughput: each worker rotates its own family.
starts = []
for _ in range(workers):
    v, ch = pkce()
    code = code_from(browser.get(authorize_url(cid, ch), allow_redirects=False))
    starts.append(requests.post(f"{ISS}/oauth/token", data={"grant_type": "authorization_code", "code": code,
                  "client_id": cid, "redirect_uri": REDIRECT, "code_verifier": v, "resource": RES}).json()["refresh_token"])
def rotate(conn, i):
    ok = err = 0
    rt, end = starts[i], time.perf_counter() + seconds
    while time.perf_counter() < end:
        status, data = post(conn, {"grant_type": "refresh_token", "refresh_token": rt, "client_id": cid})
        if status == 200:
            rt, ok = json.loads(data)["refresh_token"], ok + 1
        else:
            err += 1
    return ok, err
ok, err, secs = run(workers, rotate)
print(f"token endpoint, refresh_token (rotation): {ok / secs:.0f} grants/s ({ok} in {secs:.1f} s, {workers} workers, {err} errors)")

# 4. Login is argon2-bound; concurrent logins must not stall other requests.
lt = [login(requests.Session(), f"10.1.0.{i}") for i in range(10)]
print(f"password login (argon2id m=19456 t=2): median {statistics.median(lt):.1f} ms (n=10)")
def health_p50(n=200):
    conn = http.client.HTTPConnection("127.0.0.1", int(port))
    xs = []
    for _ in range(n):
        t = time.perf_counter()
        conn.request("GET", "/health"); conn.getresponse().read()
        xs.append((time.perf_counter() - t) * 1000)
    xs.sort()
    return xs[len(xs) // 2], xs[int(len(xs) * 0.99)]
idle = health_p50()
stop = False
def logins(i):
    k = 0
    while not stop:
        login(requests.Session(), f"10.2.{i}.{k % 250}")
        k += 1
ths = [threading.Thread(target=logins, args=(i,)) for i in range(workers)]
for th in ths: th.start()
time.sleep(0.5)
busy = health_p50()
stop = True
for th in ths: th.join()
print(f"/health latency p50/p99: idle {idle[0]:.2f}/{idle[1]:.2f} ms; during {workers} concurrent login loops {busy[0]:.2f}/{busy[1]:.2f} ms")
PY
