#!/usr/bin/env bash
# Runs every Go fuzz target of the module for FUZZTIME each, one after
# another, then copies the new inputs each run found from the Go fuzz cache
# into the package's testdata/fuzz/<Target>/ (at most FUZZCAP files per
# target, smallest first), so that a plain `go test` replays them. Prints a
# summary and exits non-zero when any target failed (its failing input is
# then in testdata/fuzz/<Target>/, written by go test).
#
#   FUZZTIME=30s      time per target (any -fuzztime value: 45s, 10000x)
#   FUZZCAP=40        most corpus files kept per target
#   FUZZMATCH=regexp  run only the targets whose "dir/Name" matches (grep -E)
#   FUZZPARALLEL=n    fuzzing workers (default: GOMAXPROCS)
set -euo pipefail

cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-30s}
FUZZCAP=${FUZZCAP:-40}
FUZZMATCH=${FUZZMATCH:-.}
module=$(go list -m)
cache="$(go env GOCACHE)/fuzz"
parallel=()
if [[ -n ${FUZZPARALLEL:-} ]]; then
	parallel=(-parallel "$FUZZPARALLEL")
fi

# Every "func FuzzX(f *testing.F)" in a _test.go file, as "dir Name".
mapfile -t targets < <(
	grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' . |
		sed -E 's|^\./||; s|/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*).*| \1|' |
		grep -v '^tmp/' | sort -u |
		while read -r dir name; do
			if grep -Eq -- "$FUZZMATCH" <<<"$dir/$name"; then echo "$dir $name"; fi
		done
)
if ((${#targets[@]} == 0)); then
	echo "fuzz.sh: no fuzz targets match $FUZZMATCH" >&2
	exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets, $FUZZTIME each"

log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
summary=()
failed=0
for t in "${targets[@]}"; do
	read -r dir name <<<"$t"
	out="$log/${dir//\//_}_$name.log"
	echo "== $dir $name"
	status=ok
	if ! go test -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" "${parallel[@]}" "./$dir" >"$out" 2>&1; then
		status=FAIL
		failed=1
		grep -v '^fuzz: elapsed' "$out" | tail -n 30 >&2 || true
	fi
	last=$(grep '^fuzz: elapsed' "$out" | tail -n 1 || true)
	execs=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")

	# Copy the cache's inputs that testdata lacks, smallest first, up to the cap.
	src="$cache/$module/$dir/$name"
	dst="$dir/testdata/fuzz/$name"
	added=0
	if [[ -d $src ]]; then
		mkdir -p "$dst"
		have=$(find "$dst" -type f | wc -l)
		while read -r _ file; do
			((have < FUZZCAP)) || break
			base=$(basename "$file")
			[[ -e $dst/$base ]] && continue
			cp "$file" "$dst/$base"
			have=$((have + 1))
			added=$((added + 1))
		done < <(find "$src" -type f -printf '%s %p\n' | sort -n)
		rmdir "$dst" 2>/dev/null || true
	fi
	total=0
	if [[ -d $dst ]]; then
		total=$(find "$dst" -type f | wc -l)
	fi
	summary+=("$(printf '%-8s %-22s %-24s %10s %7s %7s' "$status" "$dir" "$name" "${execs:-?}" "+$added" "$total")")
done

echo
printf '%-8s %-22s %-24s %10s %7s %7s\n' result package target execs added corpus
printf '%s\n' "${summary[@]}"
exit "$failed"
