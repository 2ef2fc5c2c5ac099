#!/bin/bash
# Boot the guest kernel (build-kernel.sh) under QEMU/TCG with the host's root
# shared read-only over 9p, run SCRIPT inside it, and print what it wrote.
# The guest sees the module tree as $MODDIR; SCRIPT's output goes to
# $OUT/result.txt (writable 9p export). Exit status: SCRIPT's, or 1 when the
# kernel printed a BUG/WARNING/KASAN/lockdep splat, or 2 when it did not finish.
# A splat while the guest was still booting (before SCRIPT started: the
# kernel log marks the start) is the guest kernel's, not the tests'; it taints
# the kernel and turns lockdep off, so the guest is booted again (3 attempts);
# so is a guest whose kernel died before SCRIPT started.
#   usage: run-guest.sh SCRIPT [timeout-seconds]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
script=$(realpath "$1")
limit=${2:-300}
kdir=$("$here/build-kernel.sh")
kver=$(ls "$kdir/modroot/lib/modules/")
splat='BUG:|WARNING:|KASAN:|possible circular locking|INFO: task .* blocked'
marker="ferry-guest: running $script"

for attempt in 1 2 3; do
	out=$(mktemp -d /tmp/ferry-guest.XXXXXX)
	cat > "$out/init.sh" <<INIT
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs tmp /tmp
mkdir -p /dev/shm && mount -t tmpfs shm /dev/shm # shm_open: ferry-smi's statistics pages
mkdir -p /tmp/out && mount -t 9p -o trans=virtio,version=9p2000.L out /tmp/out
export PATH=/usr/sbin:/usr/bin:/sbin:/bin MODDIR=$kdir/modroot/lib/modules/$kver OUT=/tmp/out
echo "$marker" > /dev/kmsg
sh "$script" > /tmp/out/result.txt 2>&1
echo \$? > /tmp/out/status
dmesg > /tmp/out/dmesg.txt
sync
echo o > /proc/sysrq-trigger
sleep 30
INIT
	chmod +x "$out/init.sh"
	timeout "$limit" qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 2 -m 2G \
		-nographic -no-reboot -kernel "$kdir/bzImage" \
		-append "console=ttyS0 root=host rootfstype=9p rootflags=trans=virtio,version=9p2000.L ro init=$out/init.sh panic=-1" \
		-fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap \
		-device virtio-9p-pci,fsdev=root,mount_tag=host \
		-fsdev local,id=out,path="$out",security_model=none \
		-device virtio-9p-pci,fsdev=out,mount_tag=out > "$out/console.log" 2>&1 || true
	# The log up to the marker, in a variable: with pipefail, "sed | grep -q"
	# fails when grep stops early and sed gets SIGPIPE.
	boot_log=""
	[ -f "$out/dmesg.txt" ] &&
		boot_log=$(sed "/$(printf '%s' "$marker" | sed 's/[][\/.*^$]/\\&/g')/q" "$out/dmesg.txt")
	if [ "$attempt" -lt 3 ] && grep -qE "$splat" <<<"$boot_log"; then
		echo "guest kernel splat while booting, before the tests ($out/dmesg.txt):" \
			"booting again" >&2
		continue
	fi
	# A panic while booting leaves no dmesg.txt: the console shows the
	# kernel never reached the script.
	if [ "$attempt" -lt 3 ] && [ ! -f "$out/status" ] &&
		! grep -qF "$marker" "$out/console.log"; then
		echo "guest kernel died while booting, before the tests ($out/console.log):" \
			"booting again" >&2
		continue
	fi
	break
done
cat "$out/result.txt" 2>/dev/null || true
echo "guest results: $out (result.txt, dmesg.txt, console.log)" >&2
if [ ! -f "$out/status" ]; then
	echo "guest did not finish (console: $out/console.log)" >&2
	exit 2
fi
if grep -qE "$splat" "$out/dmesg.txt"; then
	echo "kernel splat (dmesg: $out/dmesg.txt)" >&2
	exit 1
fi
exit "$(cat "$out/status")"
