#!/usr/bin/env bash
# The install tried for real on a fresh Debian 12 (run inside ../shared/tools/fresh-debian.sh:
# a chroot, where systemd does not run): the files, user and modes it creates, the web and
# the worker started by hand from the installed venv as the units would, a backup as the
# timer takes it, systemd-analyze verify on the installed units, then uninstall.
#   ../shared/tools/fresh-debian.sh . 'bash deploy/trial-install.sh [--database-url URL]'
set -euo pipefail
PORT=${PORT:-8799}
step() { printf '\n=== %s\n' "$*"; }

step "scripts/install $*"
scripts/install "$@"

step "user, folders, modes"
id smsdesk
stat -c '%a %U:%G %n' /var/backups/smsdesk /etc/smsdesk /etc/smsdesk/* \
  /opt/smsdesk/venv/bin/smsdesk /usr/local/bin/smsdesk
find /var/lib/smsdesk -exec stat -c '%a %U:%G %n' {} +
ls /etc/systemd/system/smsdesk-* /opt/smsdesk/static | head -20
grep -c . /opt/smsdesk/static/staticfiles.json
grep -v '^SMSDESK_SECRET_KEY=' /etc/smsdesk/smsdesk.env | grep -v '^#' | grep .

step "the web and the worker, started as their units start them"
# setpriv execs (runuser would stay as a parent that does not pass SIGTERM on)
as_service() { exec setpriv --reuid smsdesk --regid smsdesk --init-groups env -i PATH=/usr/bin:/bin $(grep -v '^#' /etc/smsdesk/smsdesk.env | grep . | tr '\n' ' ') SMSDESK_WEB_PORT=$PORT PROMETHEUS_MULTIPROC_DIR=/tmp/smsdesk-web-trial "$@"; }
cd /
# `exec` in the function: `&` runs it in a subshell, and $! must be the server itself
as_service /opt/smsdesk/venv/bin/smsdesk web > /tmp/web.log 2>&1 &
web=$!
for _ in $(seq 60); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.5; done
curl -s "http://127.0.0.1:$PORT/healthz"
curl -s "http://127.0.0.1:$PORT/readyz"; echo
as_service /opt/smsdesk/venv/bin/smsdesk worker > /tmp/worker.log 2>&1 &
worker=$!
for _ in $(seq 60); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.5; done
curl -s "http://127.0.0.1:$PORT/readyz"; echo
echo "a strong enough password 1" | smsdesk createuser admin --admin --password-stdin
smsdesk send --to 0612345678 --text "Bonjour depuis l'installation"
curl -s -o /dev/null -w 'login page %{http_code}\n' "http://127.0.0.1:$PORT/accounts/login/"
css=$(curl -s "http://127.0.0.1:$PORT/accounts/login/" | grep -o '/static/core/smsdesk\.[0-9a-f]*\.css')
curl -s -D - -o /dev/null "http://127.0.0.1:$PORT$css" | grep -i '^cache-control'
sleep 3
smsdesk campaigns list
kill "$web" "$worker"; wait "$web" "$worker" || true
tail -n 3 /tmp/web.log /tmp/worker.log

step "a backup as the timer takes it"
runuser -u smsdesk -- env SMSDESK_ENV_FILE=/etc/smsdesk/smsdesk.env \
  /opt/smsdesk/venv/bin/smsdesk backup /var/backups/smsdesk --keep 14 \
  --passphrase-file /etc/smsdesk/backup.passphrase
ls -l /var/backups/smsdesk

step "systemd-analyze verify on the installed units"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null 2>&1
systemd-analyze verify /etc/systemd/system/smsdesk-*.service /etc/systemd/system/smsdesk-backup.timer && echo "verify: clean"
for u in web worker backup; do systemd-analyze security --offline=yes /etc/systemd/system/smsdesk-$u.service | tail -1; done

cd /home/newcomer/smsdesk

step "install again (an upgrade): settings and data kept"
key=$(grep '^SMSDESK_SECRET_KEY=' /etc/smsdesk/smsdesk.env)
scripts/install "$@" 2>&1 | tail -3
[ "$key" = "$(grep '^SMSDESK_SECRET_KEY=' /etc/smsdesk/smsdesk.env)" ] && echo "secret key kept"
smsdesk campaigns list | head -2

step "uninstall keeps the data; --purge removes it"
scripts/uninstall
ls -d /var/lib/smsdesk /etc/smsdesk /var/backups/smsdesk; id smsdesk
[ ! -e /opt/smsdesk ] && [ ! -e /usr/local/bin/smsdesk ] && echo "code removed"
scripts/uninstall --purge
ls -d /var/lib/smsdesk /etc/smsdesk 2>&1 || echo "data and settings gone"
id smsdesk 2>&1 || echo "user gone"
