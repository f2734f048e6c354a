#!/usr/bin/env bash
# Packs the Debian libraries that core/ and the fourierft CLI need (headers, shared libraries,
# pkg-config files, CMake package files and pkgconf itself) into one relocatable folder, for a GPU
# server that has CUDA, CMake and PyTorch but none of these and no network. Run it on a Debian 12
# machine where installer/install-deps.sh has run; carry the folder to the server and build there
# with installer/build-cuda.sh, which finds it.
# Usage: installer/cuda-deps-bundle.sh [folder]   (default: .gpu-deps in the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.gpu-deps}
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
lib=/usr/lib/$multiarch
rm -rf "$out"
mkdir -p "$out"/{include,lib/pkgconfig,bin,share/cmake}

# Headers: C libraries (libpng and libjpeg-turbo among them) and the header-only C++ ones
# (nlohmann/json, CLI11, stb).
for h in fftw3.h sqlite3.h zlib.h zconf.h pcre2.h utf8proc.h sentencepiece_processor.h \
         png.h pngconf.h pnglibconf.h jpeglib.h jerror.h jmorecfg.h; do
  cp "/usr/include/$h" "$out/include/"
done
cp "/usr/include/$multiarch/jconfig.h" "$out/include/"  # libjpeg-turbo's, per architecture
cp -r /usr/include/nlohmann /usr/include/CLI /usr/include/stb "$out/include/"
cp -r /usr/share/cmake/nlohmann_json /usr/share/cmake/CLI11 "$out/share/cmake/"

# Shared libraries with their sonames (-a keeps the links), and what they need beyond glibc.
for so in libfftw3f libsqlite3 libz libpcre2-8 libutf8proc libsentencepiece libstb libpng libpng16 libjpeg libpkgconf; do
  cp -a "$lib/$so".so* "$out/lib/" 2>/dev/null || { echo "cuda-deps-bundle: $lib/$so.so not found (run installer/install-deps.sh)" >&2; exit 1; }
done

# Links inside the folder only (Debian's libz.so points to /lib/...).
for f in "$out"/lib/*.so*; do
  [[ -L $f ]] && ln -sf "$(basename "$(readlink "$f")")" "$f"
done

# pkg-config files made relocatable: pkgconf sets ${pcfiledir} to the file's own folder.
for pc in fftw3f sqlite3 zlib libpcre2-8 libutf8proc sentencepiece stb; do
  sed -E -e 's|^prefix=.*|prefix=${pcfiledir}/../..|' -e "s|/lib/$multiarch|/lib|g" \
         "$lib/pkgconfig/$pc.pc" > "$out/lib/pkgconfig/$pc.pc"
done
# pkgconf with its library beside it, behind a wrapper: nothing else sees the bundle's libraries
# at run time (the programs built against them find them by RUNPATH).
cp /usr/bin/pkgconf "$out/bin/pkgconf"
cat > "$out/bin/pkg-config" <<'WRAP'
#!/bin/sh
here=$(dirname "$0")
LD_LIBRARY_PATH="$here/../lib" exec "$here/pkgconf" "$@"
WRAP
chmod +x "$out/bin/pkg-config"

echo "cuda-deps-bundle: $(du -sh "$out" | cut -f1) in $out"
