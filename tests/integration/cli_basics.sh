#!/usr/bin/env bash
# The command tree as a user meets it: help, exit codes, version, completion, global flags.
set -euo pipefail
source "$(dirname "$0")/../lib/assert.sh"

expect_rc 0 "--help exits 0" -- "$FATECTL" --help
expect_contains "Exit codes:" "--help documents exit codes"
expect_rc 2 "no subcommand is a usage error" -- "$FATECTL"
expect_rc 2 "unknown flag is a usage error" -- "$FATECTL" version --no-such-flag
expect_rc 2 "bad -o value is a usage error" -- "$FATECTL" version -o xml
expect_rc 0 "version -o json" -- "$FATECTL" version -o json
echo "$OUT" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["version"] and d["gitCommit"] and d["charts"]' \
  && ok "version -o json is JSON with version, commit, charts" || not_ok "version -o json content"
expect_rc 0 "global flags accepted after the command" -- "$FATECTL" version -o yaml -v -q --no-color
expect_contains "version:" "version -o yaml"
expect_rc 0 "completion bash" -- "$FATECTL" completion bash
words=$(bash -c 'source <("$0" completion bash); COMP_WORDS=(fatectl ver); COMP_CWORD=1; _fatectl; echo "${COMPREPLY[*]}"' "$FATECTL")
[ "$words" = "version" ] && ok "bash completion completes 'ver' to 'version'" || not_ok "bash completion gave '$words'"
expect_rc 0 "completion zsh" -- "$FATECTL" completion zsh
expect_contains "compdef _fatectl fatectl" "zsh completion registers itself"
expect_rc 2 "completion of an unknown shell" -- "$FATECTL" completion fish
finish
