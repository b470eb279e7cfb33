#!/bin/sh
# Installs nginx and its cache-purge module from Debian's packages, for the tests and
# the benchmark. The packages' scripts would start nginx on port 80; a policy-rc.d
# that refuses every service start stops them (and is removed again after).
set -eu
packages="nginx-core libnginx-mod-http-cache-purge"
run() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
policy=/usr/sbin/policy-rc.d
ours=""
if [ ! -e "$policy" ]; then
    run sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod +x $policy"
    ours=1
fi
trap '[ -z "$ours" ] || run rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
run apt-get install -y --no-install-recommends $packages \
    || { run apt-get update && run apt-get install -y --no-install-recommends $packages; }
