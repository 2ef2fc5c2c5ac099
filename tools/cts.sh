#!/bin/bash
# The Khronos OpenCL conformance suite (CTS) against Ferry and against PoCL.
#
#   tools/cts.sh [mode] [options] [suite...]     suites: test_svm, test_api, ... (--list);
#                                                default: the quick ones (QUICK below)
# modes:
#   (none)        build the suites (once), run each against Ferry and against PoCL, print
#                 passed / failed / skipped per suite for both and what passes on PoCL only
#   --check       run against Ferry only and compare with conformance/cts/expected/<suite>.txt:
#                 exit 1 when a subtest expected to pass does not (a regression); improvements
#                 are printed too (re-record them). The test command's CTest test cts_quick.
#   --record      run against Ferry only and write conformance/cts/expected/<suite>.txt
#   --build-only  build the suites (once), print the cache directory
#   --list        the suites the snapshot builds
# options:
#   --only ferry|pocl   one platform (no mode)
#   --ferry-build DIR   the Ferry build tree (its ferry.icd); default build-test/, else build/
#   --out DIR           logs, per-subtest results and the harness's JSON; default <ferry build>/cts
#   --timeout S         a subtest without a verdict after S seconds is killed (default 600,
#                       FERRY_CTS_TIMEOUT)
#
# The snapshot (FERRY_CTS_DIR; default ../shared/opencl-cts beside the repository, or beside the
# main checkout of a git worktree) is unpacked and configured once under FERRY_CTS_CACHE (default
# /var/cache/ferry-cts), in a directory keyed by the archives' names, the configure flags and
# g++'s version; each suite is built once (nice) and reused. Needs root the first time: installs
# the Debian packages it lacks and writes the cache. docs/conformance.md has the results.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
QUICK=(test_svm test_api test_events test_buffers test_allocations test_computeinfo
       test_mem_host_flags test_profiling test_atomics)
POCL_ICD=/etc/OpenCL/vendors/pocl.icd

mode=compare only="" ferry_build="" out="" timeout_s=${FERRY_CTS_TIMEOUT:-600}
suites=()
die() { echo "cts: $*" >&2; exit 2; }
while (($#)); do
	case "$1" in
	--check) mode=check ;;
	--record) mode=record ;;
	--build-only) mode=build ;;
	--list) mode=list ;;
	--only) only=${2:?--only needs ferry or pocl}; shift
		[[ $only == ferry || $only == pocl ]] || die "--only ferry|pocl" ;;
	--ferry-build) ferry_build=${2:?}; shift ;;
	--out) out=${2:?}; shift ;;
	--timeout) timeout_s=${2:?}; shift ;;
	-h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	-*) die "unknown option $1 (--help)" ;;
	*) suites+=("$1") ;;
	esac
	shift
done
((${#suites[@]})) || suites=("${QUICK[@]}")

# --- what the build needs (Debian 12); python3 also runs the harness below
pkgs=(cmake g++ make ocl-icd-opencl-dev python3 coreutils util-linux)
[ "$mode" = compare ] && [ "$only" != ferry ] && pkgs+=(pocl-opencl-icd)
[[ " ${suites[*]} " =~ \ test_(compiler|spirv_new)\  ]] && pkgs+=(spirv-tools) # spirv-as
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
if ((${#missing[@]})); then
	[ "$(id -u)" -eq 0 ] || die "missing packages (${missing[*]}): run once as root"
	echo "cts: installing ${missing[*]}" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
fi

# --- the snapshot and its cache directory
snap=${FERRY_CTS_DIR:-$repo/../shared/opencl-cts}
if [ -z "${FERRY_CTS_DIR:-}" ] && [ ! -d "$snap" ]; then
	# a git worktree: beside the main checkout instead
	common=$(git -C "$repo" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
	[ -n "$common" ] && [ -d "$common/../../shared/opencl-cts" ] && snap=$common/../../shared/opencl-cts
fi
# no snapshot: exit 77, which CTest reports as a skipped test (cts_quick), not a pass
[ -d "$snap" ] || { echo "cts: no CTS snapshot at $snap (set FERRY_CTS_DIR): not run" >&2; exit 77; }
snap=$(cd "$snap" && pwd)
one() {
	local f=("$snap"/$1-*.tar.gz)
	[ ${#f[@]} -eq 1 ] && [ -f "${f[0]}" ] || die "expected one $1-*.tar.gz in $snap"
	echo "${f[0]}"
}
cts_tar=$(one OpenCL-CTS) hdr_tar=$(one OpenCL-Headers) spv_tar=$(one SPIRV-Headers)
cts_name=$(basename "$cts_tar" .tar.gz) hdr_name=$(basename "$hdr_tar" .tar.gz)
spv_name=$(basename "$spv_tar" .tar.gz)
multiarch=$(gcc -print-multiarch 2>/dev/null || true)
flags=(-DCMAKE_BUILD_TYPE=Release "-DCL_LIB_DIR=/usr/lib/${multiarch:-x86_64-linux-gnu}"
       -DOPENCL_LIBRARIES=OpenCL)
key=$( (echo "$cts_name $hdr_name $spv_name"; printf '%s\n' "${flags[@]}"; g++ -dumpfullversion) |
	sha256sum | cut -c1-12)
cache_root=${FERRY_CTS_CACHE:-/var/cache/ferry-cts}
cache=$cache_root/${cts_name#OpenCL-CTS-}-$key
bdir=$cache/build

mkdir -p "$cache" 2>/dev/null || die "cannot create $cache (run as root, or set FERRY_CTS_CACHE)"
exec 9>"$cache/.lock"
flock 9 # one builder per cache directory at a time

if [ ! -f "$cache/.unpacked" ]; then
	echo "cts: unpacking $cts_name, $hdr_name, $spv_name into $cache/src" >&2
	rm -rf "$cache/src" "$bdir"
	mkdir -p "$cache/src"
	for t in "$cts_tar" "$hdr_tar" "$spv_tar"; do tar -xzf "$t" -C "$cache/src"; done
	touch "$cache/.unpacked"
fi
if [ ! -f "$bdir/.configured" ]; then
	echo "cts: configuring $bdir" >&2
	cmake -S "$cache/src/$cts_name" -B "$bdir" "${flags[@]}" \
		-DCL_INCLUDE_DIR="$cache/src/$hdr_name" -DSPIRV_INCLUDE_DIR="$cache/src/$spv_name" \
		>"$cache/configure.log" 2>&1 || { tail -30 "$cache/configure.log" >&2; die "configure failed"; }
	cmake --build "$bdir" --target help 2>/dev/null | sed -n 's/^\.\.\. \(test_[a-z0-9_]*\)$/\1/p' |
		sort >"$bdir/suites.txt"
	touch "$bdir/.configured"
fi
if [ "$mode" = list ]; then cat "$bdir/suites.txt"; exit 0; fi

todo=()
for s in "${suites[@]}"; do
	grep -qx "$s" "$bdir/suites.txt" || die "no suite $s in $cts_name (tools/cts.sh --list)"
	[ -s "$cache/built/$s" ] || todo+=("$s")
done
unbuilt=()
if ((${#todo[@]})); then
	echo "cts: building ${todo[*]} (nice, -j$(nproc); $cache/build.log)" >&2
	t0=$(date +%s)
	mkdir -p "$cache/built"
	for s in "${todo[@]}"; do # one at a time: a suite that does not build stops no other
		if nice cmake --build "$bdir" -j"$(nproc)" --target "$s" >>"$cache/build.log" 2>&1; then
			exe=$(find "$bdir/test_conformance" -type f -name "$s" -perm -u+x | head -1)
			[ -n "$exe" ] && echo "$exe" >"$cache/built/$s" && continue
		fi
		echo "cts: $s did not build (grep -n -A5 Error $cache/build.log)" >&2
		unbuilt+=("$s")
	done
	echo "cts: built $((${#todo[@]} - ${#unbuilt[@]})) of ${#todo[@]} suites in $(($(date +%s) - t0)) s" >&2
fi
flock -u 9
if ((${#unbuilt[@]})); then
	# the comparison carries on with the others; the gate and the build step fail
	[ "$mode" = compare ] || die "not built: ${unbuilt[*]}"
	for u in "${unbuilt[@]}"; do
		for i in "${!suites[@]}"; do [ "${suites[i]}" = "$u" ] && unset 'suites[i]'; done
	done
	suites=("${suites[@]}")
	((${#suites[@]})) || die "no suite built"
fi
[ "$mode" = build ] && { echo "$cache"; exit 0; }

# --- the runs
if [ -z "$ferry_build" ]; then
	for d in "$repo/build-test" "$repo/build"; do
		[ -f "$d/ferry.icd" ] && { ferry_build=$d; break; }
	done
fi
platforms=()
if [ "$only" != pocl ]; then
	[ -n "$ferry_build" ] && [ -f "$ferry_build/ferry.icd" ] ||
		die "no Ferry build tree with ferry.icd (--ferry-build DIR)"
	ferry_build=$(cd "$ferry_build" && pwd)
	platforms+=("Ferry=$ferry_build/ferry.icd")
fi
if [ "$mode" = compare ] && [ "$only" != ferry ]; then
	[ -f "$POCL_ICD" ] || die "no $POCL_ICD (pocl-opencl-icd)"
	platforms+=("PoCL=$POCL_ICD")
fi
out=${out:-${ferry_build:-$cache}/cts}
mkdir -p "$out"
args=()
for s in "${suites[@]}"; do args+=("$s=$(cat "$cache/built/$s")"); done

export CTS_MODE=$mode CTS_OUT=$out CTS_TIMEOUT=$timeout_s CTS_SNAPSHOT=${cts_name#OpenCL-CTS-}
export CTS_EXPECTED=$repo/conformance/cts/expected CTS_PLATFORMS="${platforms[*]}"
exec /usr/bin/python3 - "${args[@]}" <<'PY'
# Runs each suite on each platform, one subtest verdict per line of the harness's output
# ("<name>..." starts a subtest; "<name> passed", "<name> FAILED", "<name> test not supported",
# "<name> skipped (requires ..." end it). A crash or a subtest silent for longer than the limit
# ends that run: the subtest is counted as crash / timeout and a new run resumes with the
# subtests not started yet. When a run finishes, the harness's own JSON verdicts
# (CL_CONFORMANCE_RESULTS_FILENAME) are authoritative.
import json, os, re, select, signal, subprocess, sys, time

mode, out, expdir = os.environ["CTS_MODE"], os.environ["CTS_OUT"], os.environ["CTS_EXPECTED"]
limit = float(os.environ["CTS_TIMEOUT"])
platforms = [p.split("=", 1) for p in os.environ["CTS_PLATFORMS"].split()]
suites = [a.split("=", 1) for a in sys.argv[1:]]
STATES = ("pass", "fail", "skip", "crash", "timeout", "not-run")
running = None  # the suite process, killed with its process group if we are

def stop(sig, frame):
    if running is not None:
        try:
            os.killpg(running.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    sys.exit(128 + sig)

signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)

def list_tests(exe):
    r = subprocess.run([exe, "--list"], cwd=os.path.dirname(exe), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    return [l.strip() for l in r.stdout.splitlines() if l.startswith("\t") and l.strip()]

def result_of(line, names):
    """(name, state) when the line is a harness verdict, else None."""
    for suffix, state in ((" passed", "pass"), (" FAILED", "fail"),
                          (" test not supported", "skip"),
                          (" test currently not implemented", "skip")):
        if line.endswith(suffix) and line[: -len(suffix)] in names:
            return line[: -len(suffix)], state
    m = re.match(r"(\S+) skipped \(requires", line)
    if m and m.group(1) in names:
        return m.group(1), "skip"
    m = re.match(r"Subtest (\S+) tests is not supported", line)
    if m and m.group(1) in names:
        return m.group(1), "skip"
    return None

def describe(rc):
    if rc < 0:
        try:
            return signal.Signals(-rc).name
        except ValueError:
            return "signal %d" % -rc
    return "exit status %d" % rc

def run_suite(suite, exe, icd, tag):
    """Every subtest of a suite on one platform: (names, state, seconds, notes, output)."""
    global running
    names = list_tests(exe)
    nameset = set(names)
    res, secs, notes, output = {}, {}, [], {}
    remaining, first, prefix = names, True, []
    log = open(os.path.join(out, "%s.%s.log" % (suite, tag)), "w")
    jpath = os.path.join(out, "%s.%s.json" % (suite, tag))
    while remaining:
        if os.path.exists(jpath):
            os.unlink(jpath)
        env = dict(os.environ, OCL_ICD_VENDORS=icd, CL_CONFORMANCE_RESULTS_FILENAME=jpath)
        # line-buffered, so that a crash loses none of the subtest's output
        cmd = ["stdbuf", "-oL", "-eL", exe] + prefix + ([] if first else remaining)
        log.write("### %s %s\n" % (exe, "(all)" if first else " ".join(prefix + remaining)))
        log.flush()
        running = p = subprocess.Popen(cmd, cwd=os.path.dirname(exe), env=env,
                                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        started, current, since, hung, buf = [], None, time.monotonic(), False, b""
        while True:
            ready = select.select([p.stdout], [], [], 1.0)[0]
            chunk = os.read(p.stdout.fileno(), 65536) if ready else None
            if chunk == b"":
                break
            if chunk:
                log.write(chunk.decode("utf-8", "replace"))
                log.flush()
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for raw in lines:
                    line = raw.decode("utf-8", "replace").rstrip()
                    if line.endswith("...") and line[:-3] in nameset:
                        current = line[:-3]
                        started.append(current)
                        output[current] = []
                        since = time.monotonic()
                        continue
                    if current:
                        output[current].append(line)
                    v = result_of(line, nameset)
                    if v:
                        res[v[0]] = v[1]
                        secs[v[0]] = time.monotonic() - since
            if not hung and time.monotonic() - since > limit:
                hung = True
                os.killpg(p.pid, signal.SIGKILL)
        rc = p.wait()
        try:
            os.killpg(p.pid, signal.SIGKILL)  # anything it left behind
        except ProcessLookupError:
            pass
        running = None
        try:
            with open(jpath) as f:
                verdicts = json.load(f)["results"]
        except (OSError, ValueError, KeyError):
            verdicts = None
        if verdicts == {} and remaining and not prefix:
            # it ran nothing: test_non_uniform_work_group's own argument parser drops argv[0],
            # so that without arguments no subtest is selected; name them after a stand-in
            prefix, first = [os.path.basename(exe)], False
            continue
        if verdicts is not None:  # the harness finished: its verdicts are authoritative
            for n, v in verdicts.items():
                res[n] = {"pass": "pass", "fail": "fail", "skip": "skip"}.get(v, "fail")
            if rc < 0 or hung:
                notes.append("%s after its last subtest" % ("hung" if hung else describe(rc)))
            break
        what = "timeout" if hung else "crash"
        why = ("no verdict within %d s" % limit) if hung else describe(rc)
        if current and current not in res:
            res[current] = what
            secs[current] = time.monotonic() - since
            notes.append("%s: %s (%s)" % (current, what, why))
        left = [n for n in remaining if n not in started]
        if not started:
            for n in left:
                res[n] = what
            notes.append("%s before its first subtest (%s): %d subtests not run" %
                         (what, why, len(left)))
            break
        remaining, first = left, False
    log.close()
    for n in names:
        res.setdefault(n, "not-run")
    with open(os.path.join(out, "%s.%s.results" % (suite, tag)), "w") as f:
        for n in names:
            f.write("%s %s %.1f\n" % (n, res[n], secs.get(n, 0)))
    return names, res, secs, notes, output

def counts(names, res):
    c = {s: 0 for s in STATES}
    for n in names:
        c[res[n]] += 1
    return c

def cell(c):
    bad = c["crash"] + c["timeout"] + c["not-run"]
    s = "%d / %d / %d" % (c["pass"], c["fail"] + bad, c["skip"])
    extra = ", ".join("%d %s" % (c[k], k) for k in ("crash", "timeout", "not-run") if c[k])
    return s + (" (%s)" % extra if extra else "")

def read_expected(suite):
    exp = {}
    with open(os.path.join(expdir, suite + ".txt")) as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if len(line) >= 2:
                exp[line[0]] = line[1]
    return exp

rows, regressions, t_all = [], [], time.monotonic()
for suite, exe in suites:
    per = {}
    for tag, icd in platforms:
        t0 = time.monotonic()
        print("cts: %s on %s ..." % (suite, tag), flush=True)
        names, res, secs, notes, output = run_suite(suite, exe, icd, tag.lower())
        c = counts(names, res)
        print("cts: %s on %s: %s passed / failed / skipped in %.0f s"
              % (suite, tag, cell(c), time.monotonic() - t0))
        for n in notes:
            print("cts:   %s" % n)
        per[tag] = (names, res, output, c)
    rows.append((suite, per))
    if mode not in ("record", "check"):
        continue
    names, res, output, c = per["Ferry"]
    path = os.path.join(expdir, suite + ".txt")
    try:
        exp = read_expected(suite)
    except OSError:
        exp = None
    if mode == "record":
        os.makedirs(expdir, exist_ok=True)
        with open(path, "w") as f:
            f.write("# %s on Ferry: expected results, written by tools/cts.sh --record (CTS %s).\n"
                    "# tools/cts.sh --check fails when a subtest marked pass does not pass;\n"
                    "# \"flaky\" (by hand) is never checked and survives --record.\n"
                    % (suite, os.environ["CTS_SNAPSHOT"]))
            for n in names:
                flaky = exp is not None and exp.get(n) == "flaky"
                f.write("%s %s\n" % (n, "flaky" if flaky else res[n]))
        print("cts: wrote %s" % path)
        continue
    if exp is None:
        print("cts: REGRESSION %s: no expected results %s (tools/cts.sh --record %s)"
              % (suite, path, suite))
        regressions.append("%s (no expected results)" % suite)
        continue
    for n in names + sorted(set(exp) - set(names)):
        e, g = exp.get(n, "new"), res.get(n, "not-run")
        if e == "flaky" or e == g:
            continue
        if e == "pass":
            regressions.append("%s %s (%s)" % (suite, n, g))
            print("cts: REGRESSION %s %s: expected pass, got %s; its output:" % (suite, n, g))
            for l in output.get(n, [])[-25:]:
                print("cts:     | %s" % l)
        elif g == "pass":
            print("cts: improved %s %s: expected %s, passes now (re-record: tools/cts.sh --record %s)"
                  % (suite, n, e, suite))
        else:
            print("cts: changed %s %s: expected %s, got %s (not a regression)" % (suite, n, e, g))

tags = [t for t, _ in platforms]
print()
print("| suite | " + " | ".join("%s passed / failed / skipped" % t for t in tags) + " |")
print("|---|" + "---|" * len(tags))
for suite, per in rows:
    print("| %s | " % suite + " | ".join(cell(per[t][3]) for t in tags) + " |")
if "Ferry" in tags and "PoCL" in tags:
    for suite, per in rows:
        fn, fr, pr = per["Ferry"][0], per["Ferry"][1], per["PoCL"][1]
        worse = [n for n in fn if pr.get(n) == "pass" and fr[n] != "pass"]
        if worse:
            print("\n%s: passes on PoCL, not on Ferry: %s" % (suite, ", ".join(
                "%s (%s)" % (n, fr[n]) for n in worse)))
print("\ncts: %.0f s; logs and results in %s" % (time.monotonic() - t_all, out))
if mode == "check":
    if regressions:
        print("cts: %d REGRESSIONS (expected to pass, did not): %s"
              % (len(regressions), "; ".join(regressions)))
    else:
        print("cts: no regressions against %s" % expdir)
sys.exit(1 if regressions else 0)
PY
