#!/bin/bash
# chroot.sh - throw-away Debian chroots for building and testing pmda-json
# against other PCP / Node.js releases (e.g. trixie: PCP 6, sid: PCP 7).
#
#   chroot.sh make RELEASE DIR   debootstrap RELEASE into DIR (skipped if DIR
#                                already holds a system) and install PCP, its
#                                PMDA dev headers, nodejs/npm and a toolchain.
#   chroot.sh run DIR CMD...     run CMD (as root, cwd /root) inside DIR in its
#                                own network, pid and mount namespaces, with
#                                private /proc, /dev (bind), /sys, /tmp, /run
#                                and only "lo" up: a pmcd started there is
#                                invisible to the host and cannot reach it.
#   chroot.sh online DIR CMD...  the same, but on the host's network (for
#                                `npm ci` and apt-get in the chroot).
#
# Node.js's headers for node-gyp are found by .ci/setup (Debian's libnode-dev,
# /usr/include/node), as nodejs.org may not be reachable; "make" installs
# them, as setup would. Under "run", npm_config_offline=true: npm answers
# from its cache (filled by `online` runs) at once instead of retrying a
# network that is not there.
#
# Package installs never start services: DIR/usr/sbin/policy-rc.d exits 101
# and a do-nothing systemctl comes first on dpkg's PATH.
set -euo pipefail

MIRROR=${MIRROR:-http://deb.debian.org/debian}
STUB=/usr/local/lib/chroot-stub              # inside the chroot
SYSPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
PACKAGES="pcp nodejs npm libnode-dev libsimdjson-dev g++ make python3 iproute2 procps curl
          ca-certificates git"

die() { echo "chroot.sh: $*" >&2; exit 1; }

# enter NET DIR CMD...: chroot into DIR in new pid+mount namespaces, and in a
# network namespace of its own when NET is "own" ("host": make, npm ci).
enter() {
    local net=$1 dir; dir=$(realpath "$2"); shift 2
    local flags=(--pid --mount --fork)
    [ "$net" = own ] && flags+=(--net)
    # unshare makes the new mount namespace private, so nothing leaks out.
    unshare "${flags[@]}" /bin/bash -euc '
        d=$1 net=$2; shift 2
        # the chroot its own mount, so that "/" in it is a mount point (ip
        # netns exec and ip -n make it a slave: EINVAL on a plain directory)
        mount --bind "$d" "$d"
        mount -t proc proc "$d/proc"
        mount --rbind /dev "$d/dev"
        mount -t sysfs sysfs "$d/sys"
        mount -t tmpfs tmpfs "$d/tmp"
        mount -t tmpfs tmpfs "$d/run"
        mkdir -p "$d/run/lock"
        # no DNS in the new network: let the host name resolve (pmcd asks)
        grep -qw "$(uname -n)" "$d/etc/hosts" ||
            echo "127.0.1.1 $(uname -n)" >> "$d/etc/hosts"
        exec chroot "$d" /usr/bin/env -i PATH="'$SYSPATH'" HOME=/root \
            TERM="${TERM:-dumb}" LANG=C.UTF-8 \
            NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt /bin/bash -c "
                [ $net != own ] || { ip link set lo up; export npm_config_offline=true; }
                cd /root && exec \"\$@\"" bash "$@"
    ' bash "$dir" "$net" "$@"
}

make_chroot() {
    local release=$1 dir=$2
    mkdir -p "$dir"
    if [ ! -e "$dir/etc/debian_version" ]; then
        debootstrap --variant=minbase "$release" "$dir" "$MIRROR"
    fi
    printf '#!/bin/sh\nexit 101\n' > "$dir/usr/sbin/policy-rc.d"
    mkdir -p "$dir$STUB"
    printf '#!/bin/sh\nexit 0\n' > "$dir$STUB/systemctl"
    chmod 755 "$dir/usr/sbin/policy-rc.d" "$dir$STUB/systemctl"
    # The mirror may serve a dated snapshot whose sid Release has "expired".
    echo 'Acquire::Check-Valid-Until "false";' > "$dir/etc/apt/apt.conf.d/99chroot"
    # Trust what the host trusts (a TLS-inspecting egress proxy, say).
    mkdir -p "$dir/usr/local/share/ca-certificates"
    cp -a /usr/local/share/ca-certificates/. "$dir/usr/local/share/ca-certificates/" 2>/dev/null || true
    # The PCP dev package names carry the soname (libpcp3-dev, libpcp4-dev..).
    local apt="DEBIAN_FRONTEND=noninteractive apt-get -y -q --no-install-recommends -o DPkg::Path=$STUB:$SYSPATH"
    enter host "$dir" /bin/bash -ec "
        $apt update
        dev=\$(apt-cache search --names-only '^libpcp(-pmda)?[0-9]+-dev\$' | cut -d' ' -f1)
        $apt install $(echo $PACKAGES) \$dev
        update-ca-certificates
        apt-get clean"
}

case ${1:-} in
    make) [ $# -eq 3 ] || die "usage: chroot.sh make RELEASE DIR"; make_chroot "$2" "$3" ;;
    run|online)
          [ $# -ge 3 ] || die "usage: chroot.sh $1 DIR CMD..."
          [ -e "$2/etc/debian_version" ] || die "$2: not a chroot (run make first)"
          net=own; [ "$1" = online ] && net=host
          shift; enter "$net" "$@" ;;
    *)    die "usage: chroot.sh make RELEASE DIR | run DIR CMD... | online DIR CMD..." ;;
esac
