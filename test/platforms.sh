#!/usr/bin/env bash
# platforms.sh - build, install and test pmda-json on other Debian releases,
# each in a throw-away chroot (test/platforms/chroot.sh), as root:
#
#   bash test/platforms.sh [RELEASE...]      (default: trixie sid)
#
# For each RELEASE (trixie: PCP 6.3, Node.js 20; sid: PCP 7, Node.js 24):
#   1. the chroot $CHROOTS/RELEASE is made if missing (chroot.sh make);
#   2. a copy of the checkout at $REV (git archive) goes to /opt/pmda-json
#      in it (not under /root, mode 700: tests run the PMDA's helpers as
#      nobody and as other users);
#   3. with the host's network (chroot.sh online), what the README's two
#      commands will need from it: `SETUP_PMCD=no bash .ci/setup --tests`
#      (the Debian packages, npm ci, the build) and npm's cache filled for
#      test/unit/package.test.mjs (which installs the packed package
#      offline); then node_modules, build/ and dist/ are removed again, so
#      the copy is as a fresh clone (npm's cache and apt hold the rest);
#   4. in the chroot's own network, pid and mount namespaces (chroot.sh run:
#      only "lo", so its pmcd is invisible to the host's, and no network),
#      with PATH=/usr/sbin:/usr/bin:/sbin:/bin, from /opt/pmda-json:
#      - the README's quick start as written, `bash examples/demo.sh`
#        (.ci/setup: npm ci from the cache, node-gyp with the headers setup
#        finds, pmcd started, the tree installed, ./Install, pminfo,
#        pmrep), which must show json.netstat's metrics; then its tree is
#        taken away again (Remove, install-tree.sh --uninstall);
#      - the .deb built (packaging/deb.sh) and installed (dpkg -i);
#        `cd $PCP_PMDAS_DIR/json && ./Install`, a source in $PCP_TMP_DIR/json/
#        platform with the integer 9223372036854775807 and a string, and
#        `pminfo -f json.platform` must show both exactly; then pmcd is
#        restarted (PCP 7's rc script runs opentelemetry/Upgrade in the
#        background, which deletes pmcd.conf lines with "pmdajson"), the
#        script waits until that is done (no pmda.auto.update lock,
#        pmcd.conf the same for 3 s) and the metrics must still be served
#        and pmcd.conf still have its json line;
#      - the README's test command as written, `bash test/run.sh` (SUITE=0
#        skips it).
# Each release's results go to $CHROOTS/RELEASE.result (the suite's output to
# $CHROOTS/RELEASE.suite.log, everything to $CHROOTS/RELEASE.log), and
# docs/PLATFORMS.md is written again from every RELEASE.result there.
# The status is 0 when every step passed on every release given.
#
# Environment: CHROOTS (/var/tmp/pmda-json-chroots), REV (HEAD), SUITE (1).
# Takes some 8 minutes a release on 2 cores (5 of them the suite), 16 for
# both; making a chroot (debootstrap, PCP, a toolchain) adds its own time.
set -uo pipefail
cd "$(dirname "$0")/.."
checkout=$(pwd)
CHROOTS=${CHROOTS:-/var/tmp/pmda-json-chroots}
REV=${REV:-HEAD}
SUITE=${SUITE:-1}
chroot_sh="$checkout/test/platforms/chroot.sh"
releases=("$@")
[ ${#releases[@]} -gt 0 ] || releases=(trixie sid)

die() { echo "platforms: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (chroot, unshare, mount)"
commit=$(git rev-parse --short "$REV") || die "$REV: not a commit"
mkdir -p "$CHROOTS"
exec 9> "$CHROOTS/.platforms.lock"
flock -n 9 || die "another platforms.sh is running ($CHROOTS/.platforms.lock)"

# what runs in the chroot's own namespaces: the checks, then the suite;
# "RESULT key: value" lines are what the report is made from
read -r -d '' CHECK <<'EOF'
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
. /etc/pcp.env
result() { echo "RESULT $1: $2"; }
ready() {
    for _ in $(seq 1 60); do pminfo -f pmcd.version >/dev/null 2>&1 && return 0; sleep 0.5; done
    return 1
}
# _pmda_setup (Upgrade scripts, .NeedInstall) runs in the background after a
# pmcd start: done when its lock is gone and pmcd.conf stays the same for 3 s
settled() {
    last= same=0
    for _ in $(seq 1 120); do
        sum=$(md5sum < "$PCP_PMCDCONF_PATH")
        if [ ! -e "$PCP_PMDAS_DIR/pmda.auto.update" ] && [ "$sum" = "$last" ]; then
            same=$((same + 1)); [ $same -ge 6 ] && return 0
        else
            same=0
        fi
        last=$sum; sleep 0.5
    done
    return 1
}
# pminfo -f json.platform shows the exact int64 and the string
served() {
    for _ in $(seq 1 20); do
        out=$(pminfo -f json.platform 2>&1)
        if printf '%s\n' "$out" | grep -qx '    value 9223372036854775807' &&
           printf '%s\n' "$out" | grep -qx '    value "platform check"'; then
            return 0
        fi
        sleep 0.5
    done
    printf '%s\n' "$out"
    return 1
}
pmcd_line() { grep "^json[[:space:]]" "$PCP_PMCDCONF_PATH"; }

result pcp "$(dpkg-query -W -f='${Version}' pcp)"
result node "$(node --version) (npm $(npm --version 2>/dev/null))"
cd /opt/pmda-json || exit 1
# as on a fresh machine: no package left by an earlier run
dpkg-query -W pcp-pmda-json >/dev/null 2>&1 && dpkg --purge pcp-pmda-json
result setup.packages "$(bash .ci/setup --packages | paste -sd ' ')"

# the README's quick start, as written
start=$(date +%s)
bash examples/demo.sh > /root/platform-quickstart.log 2>&1
st=$?
took="$(( $(date +%s) - start )) s"
if [ $st -ne 0 ]; then
    result quickstart "FAILED (status $st, $took): $(tail -n 3 /root/platform-quickstart.log | tr '\n' ' ')"
elif ! grep -q '^json\.netstat\.interfaces\.tx_packets$' /root/platform-quickstart.log ||
     ! grep -q 'json\.netstat\.interfaces\.tx_bytes' /root/platform-quickstart.log; then
    result quickstart "FAILED ($took): the output shows no json.netstat metrics"
else
    result quickstart "ok ($took): $(grep -m1 '^setup: ready' /root/platform-quickstart.log); $(grep -m1 'Check json metrics have appeared' /root/platform-quickstart.log | sed 's/.*\.\.\. //'); pminfo and pmrep show json.netstat.interfaces.tx_packets and tx_bytes"
fi
sed 's/^/quickstart: /' /root/platform-quickstart.log
# its tree away again (Remove first), for the package's
bash packaging/install-tree.sh --uninstall >/dev/null 2>&1 || result quickstart.cleanup "FAILED: install-tree.sh --uninstall"
rm -rf "$PCP_TMP_DIR/json/netstat"

# the Debian package, built from what the quick start built
if out=$(bash packaging/deb.sh /root 2>&1); then
    deb=$(ls /root/pcp-pmda-json_*.deb)
    result deb "$(basename "$deb"), Depends: $(dpkg-deb -f "$deb" Depends)"
    if out=$(PATH=/usr/local/lib/chroot-stub:$PATH dpkg -i "$deb" 2>&1); then
        result dpkg "ok (dpkg -i $(basename "$deb"))"
    else
        printf '%s\n' "$out"
        result dpkg "FAILED: $(printf '%s\n' "$out" | tail -n 2 | tr '\n' ' ')"
    fi
    rm -f "$deb"
else
    printf '%s\n' "$out"
    result deb "FAILED: $(printf '%s\n' "$out" | tail -n 2 | tr '\n' ' ')"
fi

/etc/init.d/pmcd start
if ready && settled; then result pmcd ok; else result pmcd "FAILED: pmcd did not start"; fi

if out=$(cd "$PCP_PMDAS_DIR/json" && ./Install 2>&1); then
    printf '%s\n' "$out"
    result install "ok: $(printf '%s\n' "$out" | grep -m1 'Check json metrics have appeared' | sed 's/.*\.\.\. //')"
else
    printf '%s\n' "$out"
    result install "FAILED: $(printf '%s\n' "$out" | tail -n 1)"
fi
# runs of blanks with a tab in them as one space: pmdaproc.sh's own layout
result pmcd.conf "$(pmcd_line | sed 's/[[:blank:]]*\t[[:blank:]]*/ /g')"

src="$PCP_TMP_DIR/json/platform"
mkdir -p "$src"
cat > "$src/metadata.json" <<'J'
{
  "prefix": "platform",
  "metrics": [
    { "name": "big", "pointer": "/big", "type": "integer", "description": "int64 max" },
    { "name": "word", "pointer": "/word", "type": "string" }
  ]
}
J
printf '{"big": 9223372036854775807, "word": "platform check"}\n' > "$src/data.json"
chmod 755 "$src"; chmod 644 "$src/metadata.json" "$src/data.json"
if served; then result serve "ok: json.platform.big 9223372036854775807, json.platform.word \"platform check\""
else result serve "FAILED: pminfo -f json.platform does not show both values"; fi

upgrade=no; [ -e "$PCP_PMDAS_DIR/opentelemetry/Upgrade" ] && upgrade=yes
/etc/init.d/pmcd restart
if ! ready; then
    result restart "FAILED: pmcd did not come back"
elif ! settled; then
    result restart "FAILED: the background PMDA setup did not finish in 60 s"
elif ! pmcd_line >/dev/null; then
    result restart "FAILED: pmcd.conf lost its json line"
elif ! served; then
    result restart "FAILED: json.platform is not served after the restart"
elif [ $upgrade = yes ]; then
    result restart "ok: after opentelemetry/Upgrade ran, pmcd.conf keeps its json line and json.platform is served"
else
    result restart "ok: pmcd.conf keeps its json line and json.platform is served (no opentelemetry/Upgrade in this PCP)"
fi
rm -rf "$src"

if [ "$SUITE" = 1 ]; then
    cd /opt/pmda-json || exit 1
    # the README's test command, as written
    start=$(date +%s)
    timeout 5400 bash test/run.sh 2>&1 | tee /root/platform-suite.log
    result suite "$(tail -n 1 /root/platform-suite.log)"
    result suite.time "$(( ($(date +%s) - start) / 60 )) min $(( ($(date +%s) - start) % 60 )) s"
fi
EOF

# one release: prints everything, leaves $CHROOTS/$release.result
platform() {
    local release=$1 dir="$CHROOTS/$1" started; started=$(date +%s)
    local res="$CHROOTS/$release.result.new"
    : > "$res"
    put() { echo "RESULT $1: $2" >> "$res"; }
    put date "$(date -u '+%Y-%m-%d %H:%M UTC')"
    put commit "$commit"
    if [ ! -e "$dir/etc/debian_version" ]; then
        echo "== $release: making the chroot $dir"
        bash "$chroot_sh" make "$release" "$dir" || { put chroot "FAILED: chroot.sh make"; return; }
    fi
    put debian "$(cat "$dir/etc/debian_version")"

    echo "== $release: copying $REV ($commit) to /opt/pmda-json"
    rm -rf "$dir/root/pmda-json" "$dir/opt/pmda-json" && mkdir -p -m 755 "$dir/opt/pmda-json"
    git archive "$REV" | (umask 022; tar -x --no-same-owner --no-same-permissions -C "$dir/opt/pmda-json")

    echo "== $release: what the two commands need from the network (.ci/setup --tests, npm's cache)"
    local out="$CHROOTS/$release.step"
    bash "$chroot_sh" online "$dir" /bin/bash -c '
        set -e
        cd /opt/pmda-json
        SETUP_PMCD=no bash .ci/setup --tests
        # npm pack, installed into a scratch project: what the package test
        # does without network needs these packuments in the cache
        d=$(mktemp -d)
        t=$(npm pack --silent --pack-destination "$d" | tail -n 1)
        mkdir "$d/app" && echo "{\"name\": \"app\", \"version\": \"1.0.0\", \"private\": true}" > "$d/app/package.json"
        (cd "$d/app" && npm install --no-audit --no-fund --no-package-lock "$d/$t")
        rm -rf "$d"
        # as a fresh clone again: the quick start does it all itself
        rm -rf node_modules build dist
        apt-get clean
        echo "RESULT online: ok"' 2>&1 | tee "$out"
    local st=${PIPESTATUS[0]}
    grep '^RESULT ' "$out" >> "$res"
    if [ "$st" -ne 0 ] || ! grep -q '^RESULT online: ok' "$res"; then
        put build "FAILED: $(grep -v '^RESULT' "$out" | tail -n 3 | tr '\n' ' ')"
        rm -f "$out"
        return
    fi

    local what="the quick start, the .deb, Install, serve, restart"; [ "$SUITE" = 1 ] && what="$what, the test command"
    echo "== $release: $what (own namespaces)"
    rm -f "$dir/root/platform-suite.log" "$dir/root/platform-quickstart.log"
    bash "$chroot_sh" run "$dir" /usr/bin/env SUITE="$SUITE" /bin/bash -c "$CHECK" 2>&1 | tee "$out"
    grep '^RESULT ' "$out" >> "$res"
    rm -f "$out"
    [ -f "$dir/root/platform-quickstart.log" ] && cp "$dir/root/platform-quickstart.log" "$CHROOTS/$release.quickstart.log"
    if [ -f "$dir/root/platform-suite.log" ]; then
        cp "$dir/root/platform-suite.log" "$CHROOTS/$release.suite.log"
        # the failures, and what run.sh said about ava
        grep -E '^not ok [0-9]+' "$CHROOTS/$release.suite.log" | grep -v '# TODO' |
            sed 's/^/RESULT failure: /' >> "$res"
        grep -E '^ok [0-9]+ .*# SKIP$' "$CHROOTS/$release.suite.log" |
            sed -e 's/^ok [0-9]* - //' -e 's/ # SKIP$//' -e 's/^/RESULT skip: /' >> "$res"
        grep '^run\.sh: ' "$CHROOTS/$release.suite.log" | sed 's/^/RESULT note: /' >> "$res"
    fi
    local took=$(( $(date +%s) - started ))
    put time "$((took / 60)) min $((took % 60)) s"
}

# the Markdown section of one release, from its results
section() {
    local release=$1 file="$CHROOTS/$1.result"
    val() { sed -n "s/^RESULT $1: //p" "$file" | head -n 1; }
    echo "## $release (Debian $(val debian))"
    echo
    echo "- Run: $(val date), commit $(val commit), $(val time)"
    echo "- PCP $(val pcp), Node.js $(val node)"
    [ -n "$(val build)" ] && echo "- Build: $(val build)"
    [ -n "$(val chroot)" ] && echo "- Chroot: $(val chroot)"
    [ -n "$(val setup.packages)" ] && echo "- \`bash .ci/setup\` installs: $(val setup.packages)"
    [ -n "$(val quickstart)" ] && echo "- Quick start (\`bash examples/demo.sh\`): $(val quickstart)"
    [ -n "$(val quickstart.cleanup)" ] && echo "- Quick start cleanup: $(val quickstart.cleanup)"
    echo "- Package: $(val deb)"
    echo "- dpkg: $(val dpkg)"
    [ -n "$(val pmcd)" ] && echo "- pmcd start: $(val pmcd)"
    [ -n "$(val install)" ] && echo "- Install: $(val install)"
    [ -n "$(val pmcd.conf)" ] && echo "- pmcd.conf: \`$(val pmcd.conf)\`"
    [ -n "$(val serve)" ] && echo "- Serve: $(val serve)"
    [ -n "$(val restart)" ] && echo "- Restart: $(val restart)"
    if [ -n "$(val suite)" ]; then
        echo "- Test command (\`bash test/run.sh\`, $(val suite.time)): \`$(val suite)\`"
        sed -n 's/^RESULT note: /  - /p' "$file"
        if grep -q '^RESULT skip: ' "$file"; then
            echo "- Skipped:"
            sed -n 's/^RESULT skip: \(.*\)$/  - `\1`/p' "$file"
        fi
        if grep -q '^RESULT failure: ' "$file"; then
            echo "- Failures:"
            sed -n 's/^RESULT failure: \(.*\)$/  - `\1`/p' "$file"
        fi
    fi
    echo
}

ok=0
for release in "${releases[@]}"; do
    platform "$release" 2>&1 | tee "$CHROOTS/$release.log"
    mv -f "$CHROOTS/$release.result.new" "$CHROOTS/$release.result"
    r="$CHROOTS/$release.result"
    if grep -q '^RESULT \(build\|chroot\|quickstart\|quickstart.cleanup\|deb\|pmcd\|install\|serve\|restart\|dpkg\): FAILED' "$r" ||
       ! grep -q '^RESULT quickstart: ok' "$r" ||
       ! grep -q '^RESULT restart: ok' "$r" ||
       { [ "$SUITE" = 1 ] && ! grep -q '^RESULT suite: [0-9]* passed, 0 failed$' "$r"; }; then
        ok=1
    fi
done

{
    cat <<'EOF'
# Platforms

pmda-json on Debian releases other than the Debian 12 (PCP 6.0.3,
Node.js 20) it is developed and tested on, each in a chroot: the
README's quick start (`bash examples/demo.sh`) as written; then the
`.deb` built for that release, installed with `dpkg -i`, registered with
`./Install` into the chroot's own pmcd, checked to serve an exact int64
and a string (and, on PCP 7, to survive a pmcd restart, whose background
`opentelemetry/Upgrade` deletes pmcd.conf lines naming `pmdajson`); then
the README's test command (`bash test/run.sh`) as written. Written by `bash test/platforms.sh`
from its results (see its header); run it again to refresh.

EOF
    # trixie, then sid, then any other release that was run
    for r in trixie sid $(ls "$CHROOTS" | sed -n 's/\.result$//p' | grep -vx 'trixie\|sid'); do
        [ -e "$CHROOTS/$r.result" ] && section "$r"
    done
} > docs/PLATFORMS.md
echo "platforms: wrote docs/PLATFORMS.md"
exit $ok
