#!/usr/bin/env bash
# Generate the cos(1) man page from the tool's own --help texts, so the two
# never drift apart. Usage: gen-man.sh PATH/TO/cos OUT.1
set -euo pipefail
COS=$1; OUT=$2
{
  echo '.TH COS 1 "" "cos-c" "User Commands"'
  echo '.SH NAME'
  echo 'cos \- Tencent Cloud Object Storage from the command line'
  echo '.SH SYNOPSIS'
  echo '.B cos'
  echo 'COMMAND [OPTIONS] [ARGS]'
  echo '.SH DESCRIPTION'
  "$COS" --help | sed -e 's/\\/\\\\/g' -e 's/^-/\\-/' -e 's/$/\n.br/'
  echo '.SH COMMANDS'
  for c in ls mb rb cp mv rm stat cat presign sign sync du config completion; do
    echo ".SS $c"
    "$COS" "$c" --help | sed -e 's/\\/\\\\/g' -e 's/^-/\\-/' -e 's/$/\n.br/'
  done
  echo '.SH SEE ALSO'
  echo 'cos-server(1); docs/cli.md in the cos-c sources'
} > "$OUT"
