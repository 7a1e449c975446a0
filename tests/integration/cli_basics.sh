#!/usr/bin/env bash
# The command tree as a user meets it: help, exit codes, version, completion, global flags.
set -euo pipefail
source "$(dirname "$0")/../lib/assert.sh"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT

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
comp() {  # comp WORDS...: what bash completion offers for the last word
  bash -c 'source <("$0" completion bash); COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _fatectl; printf "%s\n" "${COMPREPLY[@]}"' "$FATECTL" "$@"
}
got=$(comp fatectl cluster install - | sort | tr '\n' ' ')
[ "$(comp fatectl cluster install - | grep -cx -- --help)" = 1 ] && ok "--help offered once" || not_ok "--help count: $got"
grep -qw -- "-f" <<<"$got" && grep -qw -- "-n" <<<"$got" && grep -qw -- "-o" <<<"$got" && ok "short flags offered (-f -n -o)" || not_ok "short flags: $got"
touch "$W/party-9999.yaml" "$W/party-10000.yaml"; mkdir "$W/runs"
got=$(cd "$W" && comp fatectl cluster install -f party-9 | tr '\n' ' ')
[ "$got" = "party-9999.yaml " ] && ok "file names after -f" || not_ok "after -f: '$got'"
got=$(cd "$W" && comp fatectl train --job pa | sort | tr '\n' ' ')
[ "$got" = "party-10000.yaml party-9999.yaml " ] && ok "file names after --job" || not_ok "after --job: '$got'"
got=$(cd "$W" && comp fatectl train --run-dir r | tr '\n' ' ')
[ "$got" = "runs " ] && ok "directories after --run-dir" || not_ok "after --run-dir: '$got'"
got=$(comp fatectl -o y)
[ "$got" = yaml ] && ok "output formats after -o" || not_ok "after -o: '$got'"
comp fatectl __ | grep -q __complete && not_ok "the hidden __complete is offered" || ok "the hidden __complete is not offered"

# a mistyped command says so and suggests the nearest one
expect_rc 2 "unknown command" -- "$FATECTL" clutser list
expect_contains "unknown command 'clutser'; did you mean 'cluster'?" "names it and suggests cluster"
expect_rc 2 "unknown subcommand" -- "$FATECTL" cluster instal -f x.yaml
expect_contains "unknown command 'instal' for 'fatectl cluster'; did you mean 'install'?" "suggests install"
expect_rc 2 "unknown command with global flags first" -- "$FATECTL" -n fate-9999 -o json histroy
expect_contains "unknown command 'histroy'" "global flags are skipped"
expect_rc 2 "an unknown flag is still an unknown flag" -- "$FATECTL" cluster list --no-such-flag
if grep -q "unknown command" <<<"$OUT"; then not_ok "a bad flag reported as a command"; else ok "a bad flag is not reported as a command"; fi
# -o wide is refused rather than silently treated as a table
expect_rc 2 "-o wide is refused" -- "$FATECTL" version -o wide
expect_contains "no wide form" "says why"
expect_rc 0 "completion zsh" -- "$FATECTL" completion zsh
expect_contains "compdef _fatectl fatectl" "zsh completion registers itself"
# zsh (TEST_PACKAGES): the script parses, and _fatectl offers what bash offers (compadd stubbed,
# it only exists inside zsh's completion widgets)
"$FATECTL" completion zsh > "$W/_fatectl"
zsh -n "$W/_fatectl" && ok "zsh completion script parses" || not_ok "zsh -n failed"
zcomp() {  # zcomp WORDS...: what the zsh function offers for the last word
  zsh -c 'compdef() {}; compadd() { [[ $1 == -- ]] && shift; print -l -- "$@" }; _files() { print -- "<files $*>" }
    source "$1"; shift; words=("$@"); CURRENT=$#; PREFIX=${words[CURRENT]}; _fatectl' zcomp "$W/_fatectl" "$@"
}
[ "$(zcomp fatectl cluster ins | grep -cx install)" = 1 ] && ok "zsh: subcommands" || not_ok "zsh subcommands: $(zcomp fatectl cluster ins | head -3)"
[ "$(zcomp fatectl cluster install - | grep -cx -- --help)" = 1 ] && ok "zsh: --help once" || not_ok "zsh --help"
zcomp fatectl cluster install - | grep -qx -- -f && ok "zsh: short flags" || not_ok "zsh short flags"
[ "$(zcomp fatectl cluster install -f pa)" = "<files >" ] && ok "zsh: files after -f" || not_ok "zsh after -f: $(zcomp fatectl cluster install -f pa)"
[ "$(zcomp fatectl train --run-dir r)" = "<files -/>" ] && ok "zsh: directories after --run-dir" || not_ok "zsh after --run-dir"
expect_rc 2 "completion of an unknown shell" -- "$FATECTL" completion fish
finish
