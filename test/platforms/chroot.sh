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
# Package installs never start services: DIR/usr/sbin/policy-rc.d exits 101
# and a do-nothing systemctl comes first on dpkg's PATH.
set -euo pipefail

MIRROR=${MIRROR:-http://deb.debian.org/debian}
STUB=/usr/local/lib/chroot-stub              # inside the chroot
SYSPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
PACKAGES="pcp nodejs npm libnode-dev g++ make python3 iproute2 procps curl
          ca-certificates git"

die() { echo "chroot.sh: $*" >&2; exit 1; }

# enter NET DIR CMD...: chroot into DIR in new pid+mount namespaces, and a
# new network namespace too when NET is "net" (make needs the host's network).
enter() {
    local net=$1 dir; dir=$(realpath "$2"); shift 2
    local flags=(--pid --mount --fork)
    [ "$net" = net ] && flags+=(--net)
    # unshare makes the new mount namespace private, so nothing leaks out.
    unshare "${flags[@]}" /bin/bash -euc '
        d=$1 net=$2; shift 2
        mount -t proc proc "$d/proc"
        mount --rbind /dev "$d/dev"
        mount -t sysfs sysfs "$d/sys"
        mount -t tmpfs tmpfs "$d/tmp"
        mount -t tmpfs tmpfs "$d/run"
        mkdir -p "$d/run/lock"
        exec chroot "$d" /usr/bin/env -i PATH="'$SYSPATH'" HOME=/root \
            TERM="${TERM:-dumb}" LANG=C.UTF-8 /bin/bash -c "
                [ $net != net ] || ip link set lo up
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
    # The PCP dev package names carry the soname (libpcp3-dev, libpcp4-dev..).
    local apt="DEBIAN_FRONTEND=noninteractive apt-get -y -q --no-install-recommends -o DPkg::Path=$STUB:$SYSPATH"
    enter nonet "$dir" /bin/bash -ec "
        $apt update
        dev=\$(apt-cache search --names-only '^libpcp(-pmda)?[0-9]+-dev\$' | cut -d' ' -f1)
        $apt install $(echo $PACKAGES) \$dev
        apt-get clean"
}

case ${1:-} in
    make) [ $# -eq 3 ] || die "usage: chroot.sh make RELEASE DIR"; make_chroot "$2" "$3" ;;
    run|online)
          [ $# -ge 3 ] || die "usage: chroot.sh $1 DIR CMD..."
          [ -e "$2/etc/debian_version" ] || die "$2: not a chroot (run make first)"
          net=net; [ "$1" = online ] && net=nonet
          shift; enter "$net" "$@" ;;
    *)    die "usage: chroot.sh make RELEASE DIR | run DIR CMD... | online DIR CMD..." ;;
esac
