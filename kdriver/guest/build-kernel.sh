#!/bin/bash
# Build the guest kernel for ferry.ko tests once and cache it outside the
# repository, keyed by the linux-source version and guest.config. Prints the
# cache directory (bzImage, modules tree, headers). Resumes an interrupted
# build. Needs root (installs Debian packages when missing).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${FERRY_GUEST_CACHE:-/var/cache/ferry-guest}

pkgs=(linux-source-6.12 flex bison bc libelf-dev libssl-dev rsync cpio xz-utils
      build-essential qemu-system-x86 kmod)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
if ((${#missing[@]})); then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >&2
fi

version=$(dpkg-query -W -f='${Version}' linux-source-6.12)
key=$( (echo "$version"; cat "$here/guest.config") | sha256sum | cut -c1-16)
out=$cache/6.12-$key
if [ -f "$out/bzImage" ]; then
	echo "$out"
	exit 0
fi
mkdir -p "$out"
if [ ! -f "$out/src/Makefile" ]; then
	tarball=$(ls /usr/src/linux-source-6.12.tar.* | head -1)
	mkdir -p "$out/src"
	tar -xf "$tarball" -C "$out/src" --strip-components=1
fi
cd "$out/src"
if [ ! -f .config ]; then
	make -s x86_64_defconfig >&2
	make -s kvm_guest.config >&2
	scripts/kconfig/merge_config.sh -m .config "$here/guest.config" >&2
	make -s olddefconfig >&2
	# every line of the fragment must have survived olddefconfig
	while read -r line; do
		case "$line" in CONFIG_*) grep -qx "$line" .config ||
			{ echo "guest config: $line did not take" >&2; exit 1; } ;;
		esac
	done < "$here/guest.config"
fi
make -s -j"$(nproc)" bzImage modules >&2
make -s headers_install INSTALL_HDR_PATH="$out/headers" >&2
make -s modules_install INSTALL_MOD_PATH="$out/modroot" >&2
cp arch/x86/boot/bzImage "$out/bzImage.tmp" && mv "$out/bzImage.tmp" "$out/bzImage"
echo "$out"
