#!/bin/sh
# Render users.acl for redis-server --aclfile: each role's password becomes
# its SHA-256 (the file never holds a password), and subcycle: becomes your
# key prefix (subcycle, the queue namespace, that prefix without its colon).
# Passwords come from the environment, never the command line:
#
#   SUBCYCLE_ACL_ADMIN_PASSWORD=… SUBCYCLE_ACL_WORKER_PASSWORD=… \
#   SUBCYCLE_ACL_API_PASSWORD=… SUBCYCLE_ACL_OPERATOR_PASSWORD=… \
#   [SUBCYCLE_KEY_PREFIX=subcycle:] deploy/redis/render-users.sh > /etc/redis/users.acl
#
# The prefix and the queue namespace must be the same word (the defaults:
# SUBCYCLE_KEY_PREFIX=subcycle: and SUBCYCLE_QUEUE_NAMESPACE=subcycle).
set -eu
here=$(dirname "$0")
prefix=${SUBCYCLE_KEY_PREFIX:-subcycle:}
if ! printf %s "$prefix" | grep -Eqx '[A-Za-z0-9_.-]+:'; then
    echo "render-users.sh: SUBCYCLE_KEY_PREFIX must be a word and a colon, such as subcycle:" >&2
    exit 2
fi
digest() {
    if [ -z "$1" ]; then echo "render-users.sh: $2 is not set" >&2; exit 2; fi
    printf %s "$1" | sha256sum | cut -d' ' -f1
}
admin=$(digest "${SUBCYCLE_ACL_ADMIN_PASSWORD:-}" SUBCYCLE_ACL_ADMIN_PASSWORD)
worker=$(digest "${SUBCYCLE_ACL_WORKER_PASSWORD:-}" SUBCYCLE_ACL_WORKER_PASSWORD)
api=$(digest "${SUBCYCLE_ACL_API_PASSWORD:-}" SUBCYCLE_ACL_API_PASSWORD)
operator=$(digest "${SUBCYCLE_ACL_OPERATOR_PASSWORD:-}" SUBCYCLE_ACL_OPERATOR_PASSWORD)
grep -v '^#' "$here/users.acl" | grep -v '^$' | sed \
    -e "s/{{admin}}/$admin/" -e "s/{{worker}}/$worker/" \
    -e "s/{{api}}/$api/" -e "s/{{operator}}/$operator/" \
    -e "s/~subcycle/~${prefix%:}/g"
