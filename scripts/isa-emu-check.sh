#!/usr/bin/env bash
# The AVX-512 kernels against their emulation on AVX2 + FMA (--isa avx512emu: the same 16-wide code, each
# 16-float vector run as two of 8; reference/isa/vec.h). On a CPU with AVX-512 the two must give the same
# bits: captures (every layer's stream, the block logits, the outputs) of Vim-T, dense and block-pruned, at
# batch 2, compared byte for byte. The token variants are left out: their predictors' GELU calls libmvec's
# erf, whose 16-wide and 8-wide versions may differ in the last bit.
#   scripts/isa-emu-check.sh [DYVM=build/dyvm] [ISA=avx512 OTHER=avx512emu]
# Exit 0: identical; 1: a difference (the first differing byte named) or a run failed; 2: this CPU lacks an ISA.
set -u
bin=${1:-build/dyvm} a=${2:-avx512} b=${3:-avx512emu}
[ $# -le 3 ] || { echo "usage: $0 [DYVM] [ISA OTHER]" >&2; exit 2; }
[ -x "$bin" ] || { echo "$0: $bin is not an executable dyvm (make first)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
for v in vim block; do
    k=0
    for isa in "$a" "$b"; do
        k=$((k + 1)) # its own file even when both name the same ISA
        if ! "$bin" run --preset vim-t --variant "$v" --batch 2 --isa "$isa" --capture --out "$tmp/$v.$k.st" \
            >/dev/null 2>"$tmp/err"; then
            echo "$0: $v under --isa $isa: $(tail -n 1 "$tmp/err")" >&2
            grep -q "does not support" "$tmp/err" && exit 2
            exit 1
        fi
    done
    if cmp -s "$tmp/$v.1.st" "$tmp/$v.2.st"; then
        echo "vim-t $v, batch 2: --isa $a and --isa $b give byte-identical captures"
    else
        at=$(cmp "$tmp/$v.1.st" "$tmp/$v.2.st" 2>&1 | sed -n 's/.* byte \([0-9]*\).*/\1/p')
        echo "vim-t $v, batch 2: --isa $a and --isa $b differ (first at byte ${at:-?} of the capture)"
        status=1
    fi
done
exit "$status"
