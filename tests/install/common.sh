# SPDX-License-Identifier: Apache-2.0
# Shared by the install checks (sourced): result lines, a failure count, and a
# scratch directory removed when the script exits.
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok:   $*"; }
# install_scratch TAG: sets $scratch to a fresh directory in /tmp, removed on
# exit. It sets a variable rather than printing the path: a trap set inside
# $(...) would belong to the subshell and fire at once.
install_scratch() {
  scratch=$(mktemp -d "/tmp/nestbox-$1.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf --one-file-system '$scratch'" EXIT
}
