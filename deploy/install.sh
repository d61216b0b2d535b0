#!/bin/sh
# install.sh: installs weftd and the weft CLI from a built source tree, for hosts without the
# Debian package. It lays out the same files as the package (which deploy/build-deb builds with
# this script), under a prefix of your choice.
#
#   mvn -q -B -ntp -DskipTests package          # once, from the repository root
#   sudo deploy/install.sh                       # into /usr/local, then: systemctl enable --now weftd
#   deploy/install.sh --prefix=/opt/weft --destdir=/tmp/stage   # stage only (packaging, tests)
#
# Options:
#   --prefix=DIR      where programs, jars and docs go (default /usr/local):
#                       DIR/lib/weft/  launchers weftd and weft, weft-daemon.jar, lib/*.jar
#                       DIR/sbin/weftd, DIR/bin/weft  symbolic links to the launchers
#                       DIR/share/doc/weft/  README.md (operations guide), CONFIGURATION.md
#   --sysconfdir=DIR  config directory (default /etc): DIR/weft/weftd.conf, kept if it exists
#                     (the new default is then written beside it as weftd.conf.new)
#   --unitdir=DIR     where weftd.service goes (default /usr/lib/systemd/system for --prefix=/usr,
#                     else /etc/systemd/system); its paths are rewritten for the prefix
#   --sysusersdir=DIR where the sysusers.d file for user weft goes (default /usr/lib/sysusers.d
#                     for --prefix=/usr, else /etc/sysusers.d)
#   --destdir=DIR     stage everything under DIR instead of /; implies --no-system
#   --no-system       do not create the weft user, own its directories or talk to systemd
#   -h, --help        print this help
#
# Without --no-system (as root): creates the system user and group weft (systemd-sysusers, else
# useradd), makes /var/lib/weft and /var/log/weft (weft:weft, 0750), gives the config file to group
# weft (root:weft, 0640: it may hold the bus password), reloads systemd and, when
# weftd is running, restarts it (an upgrade: weftd drains before it stops). Java 17 or later must
# be on PATH, or JAVA_HOME set in the unit (systemctl edit weftd: Environment=JAVA_HOME=...).
set -eu

here=$(dirname "$(readlink -f "$0")")
repo=$(dirname "$here")
build="$repo/daemon/target"

prefix=/usr/local
sysconfdir=/etc
unitdir=
sysusersdir=
destdir=
system=yes

usage() {
    sed -n '2,/^set -eu/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
}

for arg in "$@"; do
    case "$arg" in
        --prefix=*) prefix=${arg#*=} ;;
        --sysconfdir=*) sysconfdir=${arg#*=} ;;
        --unitdir=*) unitdir=${arg#*=} ;;
        --sysusersdir=*) sysusersdir=${arg#*=} ;;
        --destdir=*) destdir=${arg#*=}; system=no ;;
        --no-system) system=no ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
    esac
done

for dir in "$prefix" "$sysconfdir"; do
    case "$dir" in
        /*) ;;
        *) echo "install.sh: $dir must be an absolute path" >&2; exit 2 ;;
    esac
done
if [ -z "$unitdir" ]; then
    if [ "$prefix" = /usr ]; then unitdir=/usr/lib/systemd/system; else unitdir=/etc/systemd/system; fi
fi
if [ -z "$sysusersdir" ]; then
    if [ "$prefix" = /usr ]; then sysusersdir=/usr/lib/sysusers.d; else sysusersdir=/etc/sysusers.d; fi
fi
if [ ! -f "$build/weft-daemon.jar" ] || [ ! -x "$build/weftd" ]; then
    echo "install.sh: no build in $build; run from the repository root first:" >&2
    echo "    mvn -q -B -ntp -DskipTests package" >&2
    exit 1
fi
if [ "$system" = yes ] && [ "$(id -u)" != 0 ]; then
    echo "install.sh: run as root, or pass --destdir=DIR or --no-system" >&2
    exit 1
fi

libdir="$prefix/lib/weft"
docdir="$prefix/share/doc/weft"
conf="$sysconfdir/weft/weftd.conf"

# Programs and jars.
install -d "$destdir$libdir/lib" "$destdir$prefix/sbin" "$destdir$prefix/bin"
rm -f "$destdir$libdir"/lib/*.jar
install -m 0644 "$build/weft-daemon.jar" "$destdir$libdir/"
install -m 0644 "$build"/lib/*.jar "$destdir$libdir/lib/"
install -m 0755 "$build/weftd" "$build/weft" "$destdir$libdir/"
# Relative links, so that the staged tree can be moved (the package is built from one).
ln -sf "../lib/weft/weftd" "$destdir$prefix/sbin/weftd"
ln -sf "../lib/weft/weft" "$destdir$prefix/bin/weft"

# Documentation.
install -d "$destdir$docdir"
install -m 0644 "$here/README.md" "$repo/docs/CONFIGURATION.md" "$destdir$docdir/"

# Configuration: never overwrite the operator's file. Mode 0640: it may hold the bus password
# (group weft, which weftd runs as, is set below or by the package's postinst).
install -d "$destdir$sysconfdir/weft"
if [ -e "$destdir$conf" ] && ! cmp -s "$here/weftd.conf" "$destdir$conf"; then
    install -m 0640 "$here/weftd.conf" "$destdir$conf.new"
    echo "install.sh: kept $conf; the new default is $conf.new"
else
    install -m 0640 "$here/weftd.conf" "$destdir$conf"
fi

# The unit, with its paths rewritten for this prefix and config directory.
install -d "$destdir$unitdir"
sed -e "s|/usr/sbin/weftd|$prefix/sbin/weftd|g" \
    -e "s|/etc/weft/weftd.conf|$conf|g" \
    -e "s|/usr/share/doc/weft/|$docdir/|g" \
    "$here/weftd.service" > "$destdir$unitdir/weftd.service"
chmod 0644 "$destdir$unitdir/weftd.service"

# The user and group, and the state and log directories.
install -d "$destdir$sysusersdir" "$destdir/var/lib/weft" "$destdir/var/log/weft"
install -m 0644 "$here/sysusers.d/weft.conf" "$destdir$sysusersdir/weft.conf"

if [ "$system" = no ]; then
    echo "install.sh: staged under ${destdir:-/} (no user created, systemd not told)"
    exit 0
fi

if ! getent passwd weft >/dev/null; then
    if command -v systemd-sysusers >/dev/null 2>&1; then
        systemd-sysusers "$sysusersdir/weft.conf"
    else
        useradd --system --user-group --home-dir /var/lib/weft --no-create-home \
            --shell /usr/sbin/nologin --comment "Weft sidecar daemon" weft
    fi
fi
chown weft:weft /var/lib/weft /var/log/weft
chmod 0750 /var/lib/weft /var/log/weft
chgrp weft "$conf"
chmod 0640 "$conf"

if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    if systemctl --quiet is-active weftd.service; then
        systemctl restart weftd.service
        echo "install.sh: weftd restarted with the new version"
    else
        echo "install.sh: installed; start weftd with: systemctl enable --now weftd"
    fi
else
    echo "install.sh: installed; systemd is not running here: start $prefix/sbin/weftd --config=$conf yourself"
fi
