#!/usr/bin/env bash
# Mutation testing of meshcap's numeric core with cargo-mutants (issue 21): each mutant is a
# small deliberate bug (an operator flipped, a function body replaced, a match arm deleted);
# the suite should fail on every one. A mutant the tests miss is either a missing test or an
# equivalent change (say why in docs/testing.md).
#
# Not in CI: the five folders hold ~5,500 mutants and each needs a release rebuild of the crate
# (~1.5 min on 2 cores), so a full run takes days. Run a sample (files and/or a shard) and the
# tests that bear on it; docs/testing.md records the samples run and their counts.
#
# Usage:
#   benches/mutants.sh                          # every mutant of the five folders, whole suite
#   benches/mutants.sh --list                   # list them (no build)
#   MUTANTS_TESTS="merge_checks sweep" benches/mutants.sh -f src/scenario/merge.rs
#   benches/mutants.sh -f src/project/safe.rs --shard 1/4 --sharding round-robin
#   benches/mutants.sh --re 'safe_for_limit'    # only the mutants whose names match
#
# Extra arguments go to `cargo mutants` (see `cargo mutants --help`); `-f` narrows the folders
# below to the files given. MUTANTS_TESTS, when set, is the list of test-name filters passed
# to the test binaries (as `cargo test -- FILTER...`). Results land in mutants.out/
# (caught.txt, missed.txt, timeout.txt, unviable.txt, outcomes.json).
#
# Install: cargo install cargo-mutants --locked (27.1 used here).
#
# The build runs in place (--in-place) on the release profile so the warm target/ is reused;
# the run takes the machine-wide cargo lock (flock /tmp/meshcap-cargo.lock), so other builds
# wait: the source tree must not be edited while it runs (cargo-mutants restores each file
# after its mutant; check `git status` if a run is killed).
set -euo pipefail

cd "$(dirname "$0")/.."

folders=(-f 'src/model/**/*.rs' -f 'src/mesh/**/*.rs' -f 'src/fleet/**/*.rs' -f 'src/project/**/*.rs' -f 'src/scenario/**/*.rs')
# A -f among the arguments replaces the five folders.
for arg in "$@"; do
    if [[ "$arg" == "-f" || "$arg" == "--file" || "$arg" == --file=* ]]; then
        folders=()
        break
    fi
done

test_args=(--lib --test tests)
if [[ -n "${MUTANTS_TESTS:-}" ]]; then
    # shellcheck disable=SC2206 # word splitting intended: one filter per word
    test_args+=(-- ${MUTANTS_TESTS})
fi

lock=(flock /tmp/meshcap-cargo.lock)
for arg in "$@"; do
    # Listing builds nothing: no need to wait for the lock.
    [[ "$arg" == "--list" || "$arg" == "--list-files" ]] && lock=()
done

exec "${lock[@]}" cargo mutants --in-place --profile release --timeout 600 "${folders[@]}" "$@" -- "${test_args[@]}"
