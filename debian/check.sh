#!/bin/sh
# Install the Debian package built by `make deb` on this machine, as a bureau's IT would, and check it:
# the binary, the service user and its directory, the settings file, the systemd unit (systemd-analyze
# verify); then serve a registry exactly as the unit's ExecStart does, as the nrledger user, answer
# /health and an items page, stop it with SIGTERM, and remove the package again.
# Run by `make deb-check` (the release package) and by CI through `make test-deb` (the binary `make test`
# built, packaged the same way), as root (it installs a package and adds a system user): on a build or CI
# machine, not on a server in use.
set -eu
deb=${1:-$(ls -1t target/debian/nrledger_*.deb | head -n 1)}
[ "$(id -u)" = 0 ] || { echo "deb-check installs a package: run it as root (sudo make deb-check)" >&2; exit 2; }
say() { printf '%s\n' "deb-check: $*"; }
fail() { printf '%s\n' "deb-check: FAILED: $*" >&2; exit 1; }

# a machine where nrledger is installed, or a registry lies where the settings put it, is in use: the check
# would replace that package, delete that registry and remove the package, so it refuses to run there
if dpkg-query -W -f='${Status}' nrledger 2>/dev/null | grep -q "install ok installed"; then
    fail "nrledger is installed on this machine: the check installs and removes its own (run it on a build machine)"
fi

say "installing $deb"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "./$deb" >/dev/null
pid=""
cleanup() {
    [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
    DEBIAN_FRONTEND=noninteractive apt-get remove -y -q nrledger >/dev/null 2>&1 || true
}
trap cleanup EXIT

/usr/bin/nrledger --version || fail "/usr/bin/nrledger does not run"
getent passwd nrledger >/dev/null || fail "no nrledger user"
[ "$(stat -c %U:%a /var/lib/nrledger)" = nrledger:750 ] || fail "/var/lib/nrledger is $(stat -c %U:%a /var/lib/nrledger)"
dpkg-query -W -f='${Conffiles}\n' nrledger | grep -q /etc/default/nrledger || fail "/etc/default/nrledger is not a conffile"
unit=$(dpkg -L nrledger | grep '/nrledger.service$') || fail "no systemd unit in the package"
command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing (Debian's systemd package)"
systemd-analyze verify "$unit" || fail "systemd-analyze verify $unit"
[ -f /usr/share/doc/nrledger/README.md ] || fail "no README in /usr/share/doc/nrledger"

# the registry the settings name, created by the service user, then served as the unit's ExecStart serves it
. /etc/default/nrledger
[ ! -e "$NRLEDGER_REGISTRY" ] || fail "$NRLEDGER_REGISTRY exists: the check would delete it"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
NRLEDGER_LISTEN=127.0.0.1:$port
setpriv --reuid=nrledger --regid=nrledger --init-groups /usr/bin/nrledger init "$NRLEDGER_REGISTRY" --region 330523 >/dev/null || fail "nrledger init as nrledger"
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
cmd=$(printf '%s' "$exec_start" | sed "s|\${NRLEDGER_REGISTRY}|$NRLEDGER_REGISTRY|; s|\${NRLEDGER_LISTEN}|$NRLEDGER_LISTEN|; s|\$NRLEDGER_OPTIONS|$NRLEDGER_OPTIONS|")
say "starting: $cmd (as nrledger)"
# shellcheck disable=SC2086
setpriv --reuid=nrledger --regid=nrledger --init-groups $cmd >/tmp/nrledger-deb-check.log 2>&1 &
pid=$!
up=""
for _ in $(seq 1 50); do
    if curl -fsS "http://$NRLEDGER_LISTEN/health" >/dev/null 2>&1; then up=1; break; fi
    sleep 0.2
done
[ -n "$up" ] || { cat /tmp/nrledger-deb-check.log >&2; fail "the service did not answer /health"; }
curl -fsS "http://$NRLEDGER_LISTEN/collections/parcels/items?limit=1" | grep -q '"numberMatched"' || fail "no items page"
kill -TERM "$pid"
wait "$pid" && pid="" || { cat /tmp/nrledger-deb-check.log >&2; fail "the service did not stop cleanly on SIGTERM"; }
grep -q '"shut down"' /tmp/nrledger-deb-check.log || fail "no 'shut down' in the service's log"
rm -f "$NRLEDGER_REGISTRY" "$NRLEDGER_REGISTRY-wal" "$NRLEDGER_REGISTRY-shm"
say "ok: installed, served /health and items as user nrledger, stopped on SIGTERM; removing the package"
