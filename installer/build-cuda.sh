#!/usr/bin/env bash
# Builds core/ and the fourierft CLI against the CUDA LibTorch inside an installed PyTorch 2.x, GUI
# and Qt tests off, into build-cuda/. For GPU servers: no Qt needed. The other libraries come from
# the system (pkg-config, CMake packages) or, where the server has none of them and no network,
# from a folder made by installer/cuda-deps-bundle.sh on a Debian 12 machine (.gpu-deps by default).
# Usage: installer/build-cuda.sh [extra cmake -D options...]
#   FW_PYTHON   the Python whose torch to use (default python3)
#   FW_DEPS     the bundle folder (default .gpu-deps, used when it exists)
#   CUDA_ARCHS  TORCH_CUDA_ARCH_LIST for LibTorch's CMake files (default: the visible GPU's)
# Afterwards: build-cuda/app/cli/fourierft selftest --device cuda [--fixtures ../shared/fixtures/hf]
# (the program finds the bundle's libraries by its RUNPATH).
set -euo pipefail
cd "$(dirname "$0")/.."
py=${FW_PYTHON:-python3}
deps=${FW_DEPS:-$PWD/.gpu-deps}
prefix=$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path)') || {
  echo "build-cuda: '$py' has no torch; set FW_PYTHON to a Python with a CUDA build of PyTorch" >&2; exit 1; }
"$py" -c 'import torch, sys; sys.exit(0 if torch.version.cuda else 1)' || {
  echo "build-cuda: the torch in '$py' is built without CUDA" >&2; exit 1; }
args=(-DFW_BUILD_GUI=OFF -DFW_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=Release)
if [[ -d $deps ]]; then
  export PKG_CONFIG_PATH="$deps/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
  command -v pkg-config >/dev/null || args+=(-DPKG_CONFIG_EXECUTABLE="$deps/bin/pkg-config")
  prefix="$prefix;$deps"
fi
# LibTorch's CMake files want nvcc and an architecture list; the visible GPU's is the one to build for.
if [[ -z ${CUDA_ARCHS:-} ]]; then
  CUDA_ARCHS=$("$py" -c 'import torch; c = torch.cuda.get_device_capability() if torch.cuda.is_available() else (9, 0); print(f"{c[0]}.{c[1]}")')
fi
export TORCH_CUDA_ARCH_LIST=$CUDA_ARCHS
command -v nvcc >/dev/null || [[ ! -x /usr/local/cuda/bin/nvcc ]] || export PATH="/usr/local/cuda/bin:$PATH"
[[ -d /usr/local/cuda ]] && args+=(-DCUDAToolkit_ROOT=/usr/local/cuda)
# NCCL's header ships in pip's nvidia-nccl package beside torch, not in torch's include folder.
nccl=$("$py" - <<'PY' 2>/dev/null
import glob, os, torch
site = os.path.dirname(os.path.dirname(torch.__file__))
hits = glob.glob(os.path.join(site, "nvidia", "**", "nccl.h"), recursive=True)
print(os.path.dirname(hits[0]) if hits else "")
PY
)
flags="${CXXFLAGS:-}"
[[ -n $nccl ]] && flags="$flags -isystem $nccl"
# libtorch_cuda's own CUDA libraries are found at run time through its RUNPATH (pip's nvidia-*
# wheels), which the linker does not search: don't make it resolve them.
args+=(-DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-Wl,--allow-shlib-undefined")
generator=() keep=()
command -v ninja >/dev/null && generator=(-G Ninja) keep=(-- -k 0)
cmake -S . -B build-cuda "${generator[@]}" -DCMAKE_PREFIX_PATH="$prefix" "${args[@]}" "$@"
cmake --build build-cuda --target fourierft -j "$(nproc)" "${keep[@]}"
echo "build-cuda: built build-cuda/app/cli/fourierft against torch $("$py" -c 'import torch; print(torch.__version__)')"
