#!/usr/bin/env bash
# The OpenBLAS core re-exec (bench/blas_core.h) with the real binary: silent where OpenBLAS already picks
# right, one line when the detected core is below this CPU (forced here with the test hook
# DYVM_BLAS_ASSUME_CORE), a user's OPENBLAS_CORETYPE always respected, and the arguments kept across the
# re-exec.
set -u
dyvm=${DYVM:-build/dyvm}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "PASS $1"; pass=$((pass + 1)); }
no() { echo "FAIL $1"; fail=$((fail + 1)); }
# env -u: none of the variables leaks in from the caller's environment
clean=(env -u OPENBLAS_CORETYPE -u DYVM_BLAS_CORE_DETECTED -u DYVM_BLAS_CORE_REEXEC -u DYVM_BLAS_ASSUME_CORE)

# (a) no variable: nothing on stderr, unless this CPU is one where OpenBLAS picks a core below it; then
# the one line must name the core OpenBLAS itself reports (OPENBLAS_VERBOSE=2 prints "Core: X" at load).
"${clean[@]}" "$dyvm" info >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" = 0 ] && [ ! -s "$tmp/err" ]; then
    ok "info without variables: exit 0, nothing on stderr"
else
    own=$("${clean[@]}" OPENBLAS_VERBOSE=2 "$dyvm" info 2>&1 >/dev/null | sed -n 's/^Core: //p' | head -1)
    if [ "$rc" = 0 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "^dyvm: OpenBLAS chose its $own kernels on this CPU" "$tmp/err"; then
        ok "info without variables: this CPU needs another core than OpenBLAS's $own: $(cat "$tmp/err")"
    else
        no "info without variables: exit $rc, stderr: $(head -c 500 "$tmp/err")"
    fi
fi
if grep -q "^| " "$tmp/out"; then ok "info prints its environment block"; else no "info output: $(head -c 300 "$tmp/out")"; fi

# (b) the detected core below this CPU (test hook): exactly one line, exit 0, the environment block still
"${clean[@]}" DYVM_BLAS_ASSUME_CORE=Prescott "$dyvm" info >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" = 0 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "^dyvm: OpenBLAS chose its Prescott kernels" "$tmp/err" &&
    grep -q "running with OPENBLAS_CORETYPE=[A-Za-z]* instead (set OPENBLAS_CORETYPE to choose yourself)$" "$tmp/err" &&
    grep -q "^| " "$tmp/out"; then
    ok "DYVM_BLAS_ASSUME_CORE=Prescott: one line: $(cat "$tmp/err")"
else
    no "DYVM_BLAS_ASSUME_CORE=Prescott: exit $rc, stderr: $(head -c 500 "$tmp/err")"
fi
# the re-executed process runs the core it asked for (OPENBLAS_VERBOSE=2: the second "Core:" line)
want=$(sed -n 's/.*running with OPENBLAS_CORETYPE=\([A-Za-z]*\) instead.*/\1/p' "$tmp/err")
cores=$("${clean[@]}" DYVM_BLAS_ASSUME_CORE=Prescott OPENBLAS_VERBOSE=2 "$dyvm" info 2>&1 >/dev/null | sed -n 's/^Core: //p' | tr '\n' ' ')
if [ -n "$want" ] && [ "$(echo "$cores" | awk '{print NF}')" = 2 ] && [ "$(echo "$cores" | awk '{print tolower($2)}')" = "$(echo "$want" | tr A-Z a-z)" ]; then
    ok "re-executed once, and OpenBLAS loaded $want the second time (cores: $cores)"
else
    no "re-exec: OpenBLAS loaded cores \"$cores\", wanted $want last"
fi

# (c) the user's OPENBLAS_CORETYPE is respected: no re-exec, nothing on stderr
"${clean[@]}" OPENBLAS_CORETYPE=Haswell DYVM_BLAS_ASSUME_CORE=Prescott "$dyvm" info >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" = 0 ] && [ ! -s "$tmp/err" ]; then
    ok "OPENBLAS_CORETYPE=Haswell with DYVM_BLAS_ASSUME_CORE=Prescott: nothing on stderr"
else
    no "OPENBLAS_CORETYPE=Haswell: exit $rc, stderr: $(head -c 500 "$tmp/err")"
fi

# (d) the arguments survive the re-exec
if "${clean[@]}" DYVM_BLAS_ASSUME_CORE=Prescott "$dyvm" flops --preset vim-s --format json >"$tmp/f.json" 2>"$tmp/err" &&
    grep -q '"total":[[:space:]]*5076593664' "$tmp/f.json" && [ "$(wc -l <"$tmp/err")" = 1 ]; then
    ok "re-exec keeps the arguments: flops --preset vim-s --format json total 5076593664"
else
    no "flops after re-exec: $(head -c 300 "$tmp/f.json") $(head -c 300 "$tmp/err")"
fi
# an argument with a space reaches the re-executed process as it was
"${clean[@]}" DYVM_BLAS_ASSUME_CORE=Prescott "$dyvm" run --preset "vim t" --variant vim >"$tmp/out" 2>"$tmp/err"
if grep -qF '"vim t"' "$tmp/err"; then
    ok "re-exec keeps an argument with a space: $(tail -1 "$tmp/err")"
else
    no "argument with a space: $(head -c 300 "$tmp/err")"
fi

# a model run under the re-exec path
if "${clean[@]}" DYVM_BLAS_ASSUME_CORE=Prescott "$dyvm" run --preset tiny --variant vim --batch 2 >"$tmp/out" 2>"$tmp/err"; then
    ok "run --preset tiny --variant vim --batch 2 after the re-exec: exit 0"
else
    no "run --preset tiny after the re-exec: $(head -c 300 "$tmp/err")"
fi
# execv failing (an LD_PRELOAD shim that refuses it): one line saying so, then the program runs on
if command -v "${CC:-cc}" >/dev/null 2>&1 &&
    printf '#include <errno.h>\nint execv(const char *p, char *const a[]) { (void)p; (void)a; errno = EACCES; return -1; }\n' >"$tmp/noexec.c" &&
    "${CC:-cc}" -shared -fPIC -o "$tmp/noexec.so" "$tmp/noexec.c" 2>/dev/null; then
    "${clean[@]}" DYVM_BLAS_ASSUME_CORE=Prescott LD_PRELOAD="$tmp/noexec.so" "$dyvm" flops --preset vim-s --format json >"$tmp/f.json" 2>"$tmp/err"
    rc=$?
    if [ "$rc" = 0 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "^dyvm: could not re-run with OPENBLAS_CORETYPE=" "$tmp/err" &&
        grep -q '"total":[[:space:]]*5076593664' "$tmp/f.json"; then
        ok "execv refused: one line, the program runs on: $(cat "$tmp/err")"
    else
        no "execv refused: exit $rc, stderr: $(head -c 500 "$tmp/err")"
    fi
else
    echo "SKIP execv refused: no C compiler for the LD_PRELOAD shim"
    skip=1
fi
if [ "${skip:-0}" = 1 ]; then echo "$pass passed, $fail failed, 1 skipped"; else echo "$pass passed, $fail failed"; fi
[ "$fail" = 0 ]
