# shellcheck shell=bash
# Installs Debian packages that are missing, quietly and idempotently: nothing is downloaded
# (and apt-get is not even run) when every package is already installed.
#   ensure_packages PKG...

# What building ustack needs.
USTACK_BUILD_PACKAGES=(meson ninja-build pkg-config gcc libc6-dev
	libevent-dev libbpf-dev libxdp-dev libsystemd-dev check libjson-c-dev)
# Where ustackctl's bash completion goes (pkg-config bash-completion's completionsdir).
USTACK_BUILD_PACKAGES+=(bash-completion)
# What the tests need on top: sanitizers and libFuzzer (clang), the kernel-side tools the
# integration tests drive, and systemd-analyze for the unit files.
USTACK_TEST_PACKAGES=(clang libclang-rt-14-dev iproute2 iputils-ping arping traceroute
	tcpdump tshark socat netcat-openbsd nftables python3-scapy ethtool xdp-tools iperf3
	systemd procps kmod)
# The key-value store: LMDB, libcrypto's SHA-256, json-c for its RPC face.
USTACK_BUILD_PACKAGES+=(liblmdb-dev libssl-dev libjson-c-dev)
# What the benchmarks need on top (the bench scripts install them; scripts/test does not):
# perf counts the daemon's system calls per MB and records its profiles (bench/tcp
# --profile); redis is what bench/kv and bench/kv-store measure the store against.
USTACK_BENCH_PACKAGES=(linux-perf redis-server redis-tools)

ensure_packages() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing packages: ${missing[*]} (run as root to install them)" >&2
		return 1
	fi
	echo "installing: ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	# tshark asks whether non-root users may capture: answer no, without a prompt.
	echo "wireshark-common wireshark-common/install-setuid boolean false" |
		debconf-set-selections 2>/dev/null || true
	apt-get update -qq >/dev/null || return 1
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || return 1
}
