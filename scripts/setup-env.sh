# Sourced by run-tests and run-demo: install the Python and Debian packages needed.
if ! python3 -c 'import twisted, OpenSSL, service_identity, zope.interface, cryptography' 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check -r requirements.txt
fi
# man-db/groff render the man pages (a test checks them); openssh-client adds nodes over ssh.
missing=""
command -v man >/dev/null 2>&1 || missing="$missing man-db"
command -v groff >/dev/null 2>&1 || missing="$missing groff-base"
command -v ssh >/dev/null 2>&1 || missing="$missing openssh-client"
if [ -n "$missing" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq $missing >/dev/null
fi
