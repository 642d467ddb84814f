# Shared by the scripts of the "tiny" OS definition (ganeti-os-interface(7)).
# Each script sets USAGE, sources this file, and calls check_args "$@".

TINY_VERSION=2026.11

die() {
    echo "$SCRIPT: error: $*" >&2
    exit 1
}

# Ganeti passes no arguments: anything else is a person asking for help.
check_args() {
    case "$#:${1:-}" in
        0:) ;;
        1:-h|1:--help) printf '%s\n' "$USAGE"; exit 0 ;;
        *) printf '%s\n' "$USAGE" >&2; exit 1 ;;
    esac
}

# require VAR...: each variable must be set and non-empty.
require() {
    for var in "$@"; do
        eval "value=\${$var:-}"
        [ -n "$value" ] || die "$var is not set; this script is run by ganeti-noded (see ganeti-os-interface(7))"
    done
    [ "${OS_API_VERSION:-}" = 10 ] || die "OS_API_VERSION is '${OS_API_VERSION:-}', this OS speaks version 10"
}

# has_tiny_fs DEVICE: true if DEVICE holds a filesystem made by our create.
has_tiny_fs() {
    debugfs -R 'cat /etc/ganeti-tiny' "$1" 2>/dev/null | grep -q '^OS='
}
