#!/usr/bin/env bash
# test_first_run.sh — `make demo` and `make test` set themselves up on a fresh
# Debian 12: every compiling make target runs install-deps.sh --ensure first,
# which is silent when nothing is missing, installs what is missing as root,
# and otherwise prints the one command to run and fails. The package tools
# are replaced by stand-ins on PATH, so nothing is installed for real.
set -u
. "$(dirname "$0")/lib.sh"
SRC=$COS_SOURCE_DIR
SCRIPT="$SRC/scripts/install-deps.sh"
FAKE="$TEST_TMP/fakebin"; mkdir -p "$FAKE"

for t in build demo test asan; do
  check "make $t checks the packages first" bash -c "make --no-print-directory -n -C '$SRC' $t 2>/dev/null | head -1 | grep -q 'install-deps.sh --ensure'"
done

# nothing missing: silent, success (the real machine, as the build just ran)
out=$(bash "$SCRIPT" --ensure 2>&1); rc=$?
check "nothing missing: exit 0" test $rc -eq 0
check "nothing missing: silent" test -z "$out"

# a fresh machine: dpkg-query knows no package, no node on PATH
cat > "$FAKE/dpkg-query" <<'EOF'
#!/bin/sh
exit 1
EOF
cat > "$FAKE/apt-get" <<EOF
#!/bin/sh
echo "apt-get \$*" >> "$TEST_TMP/apt.log"
EOF
printf '#!/bin/sh\necho 1000\n' > "$FAKE/id-user"
printf '#!/bin/sh\necho 0\n' > "$FAKE/id-root"
chmod +x "$FAKE"/*
# a PATH without node and npm (a fresh machine)
mkdir -p "$TEST_TMP/bin"
for tool in bash sh awk grep cat id mkdir; do ln -sf "$(command -v $tool)" "$TEST_TMP/bin/$tool"; done
fresh_path="$FAKE:$TEST_TMP/bin"

cp "$FAKE/id-user" "$FAKE/id"
out=$(PATH="$fresh_path" bash "$SCRIPT" --ensure 2>&1); rc=$?
check "not root: fails" test $rc -ne 0
check "not root: prints the one command to run" bash -c "echo '$out' | grep -q 'sudo bash scripts/install-deps.sh'"
check "not root: names what is missing" bash -c "echo '$out' | grep -q 'libcurl4-openssl-dev'"
check "not root: installs nothing" test ! -e "$TEST_TMP/apt.log"

cp "$FAKE/id-root" "$FAKE/id"
out=$(PATH="$fresh_path" bash "$SCRIPT" --ensure 2>&1); rc=$?
check "root: succeeds" test $rc -eq 0
check "root: apt-get update, then install" bash -c "head -1 '$TEST_TMP/apt.log' | grep -q 'apt-get update' && sed -n 2p '$TEST_TMP/apt.log' | grep -q 'apt-get install -y'"
for p in cmake libcurl4-openssl-dev libssl-dev libexpat1-dev libsqlite3-dev libmicrohttpd-dev libisal-dev nodejs npm; do
  check "root: installs $p" grep -q " $p\\b" "$TEST_TMP/apt.log"
done
finish
