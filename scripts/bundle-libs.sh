#!/usr/bin/env bash
# Copies the shared libraries build/dyvm needs beyond glibc and CUDA into build/lib, which the binaries
# search ($ORIGIN/lib, $ORIGIN/../lib), so that a build made here runs on a bare GPU machine whose image
# has CUDA but not OpenBLAS, cJSON or PAPI. About 42 MB; the carry limit of the device tool is 64 MiB.
set -euo pipefail
bin=${1:-build/dyvm}
dest=$(dirname "$bin")/lib
mkdir -p "$dest"
ldd "$bin" | awk '$3 ~ /^\// {print $3}' | while read -r lib; do
    case "$(basename "$lib")" in
        libc.so*|libm.so*|libmvec.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*|libstdc++.so*|libgcc_s.so*) ;;
        libcuda*|libcublas*|libcudart*) ;; # the GPU image has its CUDA
        *) cp -L "$lib" "$dest/" && echo "bundled $(basename "$lib")" ;;
    esac
done
du -sh "$dest"
