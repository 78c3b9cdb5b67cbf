#!/usr/bin/env bash
# The GPU machine's one command (no npm, no network, root there):
#   bash scripts/device/run.sh        with carry [".devcarry"] (built here by scripts/device/prepare.sh)
# Unpacks Node, onnxruntime-node, the bundled benches and their fixtures from .devcarry into
# $DEVICE_WORK, installs the Vulkan loader (dpkg -x of the carried .debs into /, then ldconfig) and runs,
# each phase timed and stopped before the time budget runs out:
#   1. nvidia-smi, the ONNX Runtime backends
#   2. bench:agreement in float32 on each graph against the diffusers reference cases (numerics)
#   3. npm run bench -- --device webgpu --fp16 --no-cpu --graph <graphs> --profile: UNet step per graph,
#      text encoder and VAE, the profile's top operators and dispatches per step, session start-up
#      (sequential / worker threads / ORT's saved optimized graph), and the whole-job
#      table (1 and 4 images, 512x512, 25 steps, cold and warm)
#   4. bench:agreement in float16 on each graph
# Everything printed goes to $OUT/device.log; the figures to $OUT/bench.json, $OUT/agreement-fp32.json,
# $OUT/agreement-fp16.json; the phases' times to $OUT/phases.txt. test/fixtures is not needed.
#
# Settings (environment): DEVICE (webgpu; cpu tries the script out on any machine, with nothing
# installed into /), DEVICE_BUDGET_S (300: seconds for all phases; the last ones are skipped or cut
# short when time runs out), GRAPHS (the bench's --graph list; all: every graph it knows), JOB_SIZE (512), JOB_STEPS (25),
# SMALL=1 (random weights at the tiny model's size instead of SD2-base: a quick try-out),
# DEVCARRY (.devcarry), DEVICE_WORK (/tmp/letterpress-device), OUT (.device-out when unset).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
carry=${DEVCARRY:-$root/.devcarry}
out=${OUT:-$root/.device-out}
device=${DEVICE:-webgpu}
budget=${DEVICE_BUDGET_S:-300}
graphs=${GRAPHS:-all}
work=${DEVICE_WORK:-/tmp/letterpress-device}
started=$(date +%s)
mkdir -p "$out"
: >"$out/phases.txt"

elapsed() { echo $(($(date +%s) - started)); }
say() { printf '\n=== [%4ss] %s\n' "$(elapsed)" "$*"; }

# run_phase NAME MAX_SECONDS RESERVE_SECONDS CMD...: runs CMD with at most MAX_SECONDS, and never into
# the RESERVE_SECONDS kept for the phases after it; skipped when less than 15 s would be left.
run_phase() {
  local name=$1 max=$2 reserve=$3
  shift 3
  local left=$((budget - $(elapsed) - reserve))
  local limit=$((max < left ? max : left))
  if [ "$limit" -lt 15 ]; then
    say "$name: skipped (budget: $(elapsed) of $budget s used)"
    printf '%-28s skipped\n' "$name" >>"$out/phases.txt"
    return 0
  fi
  say "$name (at most ${limit} s): $*"
  local t0 rc
  t0=$(date +%s)
  timeout -k 15 "$limit" "$@"
  rc=$?
  local took=$(($(date +%s) - t0))
  local what="exit $rc"
  [ "$rc" -eq 124 ] && what="stopped at its ${limit} s limit"
  say "$name: $what after ${took} s"
  printf '%-28s %4d s  %s\n' "$name" "$took" "$what" >>"$out/phases.txt"
  return 0
}

main() {
  say "letterpress device run: device $device, graphs $graphs, budget $budget s, $(cat "$carry/manifest.txt" 2>/dev/null | head -1)"
  [ -d "$carry" ] || { echo "run.sh: $carry is missing: build it with scripts/device/prepare.sh and carry it (carry [\".devcarry\"])"; return 2; }

  say "unpacking into $work"
  rm -rf "$work" && mkdir -p "$work/fixtures" || return 2
  xz -dc "$carry/node.xz" >"$work/node" && chmod +x "$work/node" || return 2
  tar xJf "$carry/ort.tar.xz" -C "$work" || return 2
  tar xJf "$carry/fixtures.tar.xz" -C "$work/fixtures" || return 2
  cp -r "$carry/bench" "$work/bench" || return 2
  export PATH="$work:$PATH"
  "$work/node" --version || return 2

  if [ "$device" != cpu ]; then
    say "installing the Vulkan loader (dpkg -x into /)"
    for f in "$carry"/debs/*.deb; do dpkg -x "$f" / || echo "dpkg -x $f failed"; done
    ldconfig
    [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    [ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ] && export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
    ldconfig -p | grep -m1 libvulkan || echo "no libvulkan after ldconfig"
  fi

  say "machine"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>/dev/null || echo "nvidia-smi: not here"
  echo "cpus: $(nproc), memory: $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), free in $work: $(df -h --output=avail "$work" | tail -1)"
  (cd "$work" && ./node -e "const o=require('onnxruntime-node'); console.log('onnxruntime-node', require('onnxruntime-node/package.json').version, 'backends', JSON.stringify(o.listSupportedBackends()))")

  local fp16=() bench_size=() provider_args=(--device "$device")
  if [ "$device" = cpu ]; then
    bench_size=(--job-size "${JOB_SIZE:-64}" --job-steps "${JOB_STEPS:-3}" --runs 2 --profile-runs 2)
  else
    fp16=(--fp16)
    provider_args+=(--no-cpu)
    bench_size=(--job-size "${JOB_SIZE:-512}" --job-steps "${JOB_STEPS:-25}" --runs 5 --profile-runs 3)
  fi
  [ "${SMALL:-0}" = 1 ] && bench_size+=(--configs "$work/fixtures/tiny-sd2")

  cd "$work" || return 2
  run_phase "agreement fp32" 90 150 ./node bench/providerAgreement.js --device "$device" --graph "$graphs" --fixtures fixtures --json "$out/agreement-fp32.json"
  run_phase "bench" 100000 35 ./node bench/runBench.js "${provider_args[@]}" "${fp16[@]}" --graph "$graphs" --profile --startup --no-tiny \
    --job-images 4 "${bench_size[@]}" --fixtures fixtures --dir "$work" --json "$out/bench.json"
  if [ "$device" != cpu ]; then
    run_phase "agreement fp16" 60 0 ./node bench/providerAgreement.js --device "$device" --fp16 --graph "$graphs" --fixtures fixtures --json "$out/agreement-fp16.json"
  fi

  say "phases (budget $budget s)"
  cat "$out/phases.txt"
  echo "files in \$OUT: $(cd "$out" && ls | tr '\n' ' ')"
}

main 2>&1 | tee "$out/device.log"
exit "${PIPESTATUS[0]}"
