# Makefile: a thin list of the commands of drd; the work is in go and in
# scripts/. Run as root: the tests use loop devices, mounts and QEMU.

.PHONY: demo test deps vet unit bench
# The main job, on no spare disk: clone a small system made on image files.
demo:
	scripts/demo

# Every test CI runs: install what they need, vet, unit and root-on-loop,
# the STAGEISL build and its contents, then the VM scenarios that pass
# today (E2E_CI_A and E2E_CI_B). `make e2e` runs every scenario, the failing ones too.
test: deps vet unit ansible isl e2e-ci

deps:
	scripts/install-deps

# staticcheck at a pinned version, fetched by go run from the module proxy
# (not a tool of go.mod: it would upgrade x/tools under the ISL build).
STATICCHECK = honnef.co/go/tools/cmd/staticcheck@v0.8.2
vet:
	go vet ./...
	test -z "$$(gofmt -l .)"
	go run $(STATICCHECK) ./...

.PHONY: ansible
# The Ansible collection drd.drd (scripts/ansible): module and playbook
# tests against a fake drd, ansible-test sanity, ansible-doc. The playbook
# against real drd in two VMs is the e2e scenario TestAnsibleWindow.
ansible:
	scripts/test-ansible

# The tests never write this machine's firmware: scripts/efivars-unchanged
# fails if its boot variables changed while they ran.
unit:
	scripts/efivars-unchanged go test -count=1 -p 1 -timeout 30m ./...

# drd's copy engine against cp -a and rsync, cold caches (measures, never fails).
bench: deps
	scripts/bench-clone

.PHONY: bench-sync
# drd sync against rsync -aHAXS --delete on the same changes to a Debian
# root, cold caches, and a sync with no change (measures, never fails).
bench-sync:
	scripts/bench-sync

.PHONY: bench-verify
# drd verify against debsums -a and dpkg --verify, cold and warm (measures, never fails).
bench-verify: deps
	scripts/bench-verify

.PHONY: bench-export
# drd export/import's format against tar --xattrs --acls -S | zstd -T0 -3
# and zstd -d | tar -x, cold cache, ratios printed; then a delta's size against
# tar | zstd of the changed files alone; measures, never fails.
bench-export: deps
	scripts/bench-export

.PHONY: bench-lvm
# The same from LVM snapshots, in a layout (b) VM (scripts/e2e TestBenchLVM):
# the booted root and the 100,000-file tree on LVs of sysvg.
# With two vCPUs, as docs/bench.md's figures were taken: drd copies with
# several workers (the other VMs have one vCPU: docs/e2e.md).
bench-lvm:
	DRD_E2E=1 DRD_BENCH=1 DRD_E2E_CPUS=2 go test -count=1 -v -timeout 240m -run 'TestBenchLVM$$' ./scripts/e2e

.PHONY: bench-outage
# issue 18: the outage of a switch into the clone by firmware, kexec and
# soft reboot, in Debian 13 VMs (systemd 257 has soft-reboot), BIOS and
# UEFI (scripts/e2e TestBenchOutage/bios-13, /uefi-13), beside a bare
# soft reboot into the same clone without drd (what drd adds is the
# difference): to the new kernel and to its sshd; medians
# (DRD_BENCH_RUNS=N, default 3), GRUB's menu at Debian's 5 s
# (DRD_BENCH_GRUB_TIMEOUT), each switch's console timed in timelines.log
# (kept with DRD_E2E_KEEP=1); never fails on time.
bench-outage:
	DRD_E2E=1 DRD_BENCH=1 go test -count=1 -v -timeout 180m -run 'TestBenchOutage$$' ./scripts/e2e

.PHONY: e2e
# VM end-to-end scenarios (scripts/e2e, docs/e2e.md): as root, with QEMU,
# OVMF and debootstrap installed. Images are built first and cached in
# /var/tmp/drd-e2e, so build times show on their own. Every scenario that
# loops over layouts runs on Debian 12 and 13 (bios ... and bios-13 ...):
# the whole set takes hours on 2 cores.
# TestReleaseUpgrade (issue 14: the clone upgraded from Debian 12 to 13
# with drd runcmd, booted on trial, and the fallback) runs on its own
# with a timeout of its own, and never in CI: its full upgrade downloads
# and installs about 200 packages from deb.debian.org in a TCG guest:
# it passed whole in 2472 s (2026-12-05), the full upgrade alone 1527 s,
# more than the room CI has left (docs/e2e.md).
e2e:
	DRD_E2E=1 go test -count=1 -v -timeout 90m -run 'TestImages' ./scripts/e2e
	DRD_E2E=1 go test -count=1 -v -timeout 600m -skip 'TestReleaseUpgrade$$' ./scripts/e2e/...
	DRD_E2E=1 go test -count=1 -v -timeout 240m -run 'TestReleaseUpgrade$$' ./scripts/e2e

# The scenarios CI runs: one proof per issue and layout, chosen to keep CI
# near 40 min on 2 cores under TCG (times in docs/e2e.md). The others pass
# too and run with `make e2e`: TestActivate/lvm and /uefi (all five steps;
# TestActivateLVM and TestActivateLostDisk/uefi are their short forms),
# TestSmoke, TestHarness, TestUEFI (issue 3's harness checks, which every
# scenario here exercises), TestISLDirect, TestISLFirmware, TestRuncmdGrubPC,
# TestGuestCodePatching (the harness's one vCPU against QEMU's fault:
# 138 s for both releases).
# TestISL/uefi left CI again (issue 11): the clone's GRUB under OVMF
# stopped after "Welcome to GRUB!" (300 s) once in four runs on
# 2026-12-04; it then passed every run (174 s quiet, 541 s at load 7-16,
# 268 s in a CI check), until the third CI check of 2026-12-05 15:35,
# where it stopped there again (one vCPU; console kept). Layout (c) on
# Debian 12 stays in CI through TestActivateLostDisk/uefi.
# TestISL/lvm (issue 19) is in `make e2e` only: it passed on a quiet
# machine (300 s, both halves: the original set and booted, then the
# clone with the original's disk pulled) but failed once at load 15-21
# (device timeouts in the original's own plain reboot); it joins CI after
# two more quiet passes.
# TestAnsibleWindow (issue 15: ansible-playbook over ssh, two VMs at once,
# one committed, one falling back) is in `make e2e` only: two VMs, two
# clones and three reboots are more than CI's budget has room for; the
# playbook's logic is in CI through `make ansible` (a fake drd).
# Debian 12 and 13 (issue 14; docs/e2e.md, docs/boot.md): scenarios that
# loop over layouts run on both (bios, lvm, uefi; bios-13, lvm-13,
# uefi-13); E2E_CI_A and _B name each subtest anchored, as `bios` also matches
# `bios-13`. The plan, within 60 min of .ci/run on 2 cores: Debian 13,
# today's stable, runs the full set (TestActivate/bios-13 ~656 s,
# TestActivateLVM/lvm-13 ~438, TestActivateLostDisk/uefi-13 ~141,
# TestLVM/lvm-13 ~289, TestISL/bios-13 ~187, TestRuncmd on 13 ~130, from
# Debian 12's times), Debian 12 one short proof per layout
# (TestActivateLostDisk/bios and /uefi ~141 each, TestLVM/lvm ~289):
# about 40 min of VM time against 31 today, the images cached between
# runs (a cold Debian 13 base and layouts add 10-30 min once). A scenario
# moves to Debian 13 here only once it passed there; until then it stays
# on Debian 12.
# Passed whole on Debian 13 so far (2026-12-05): TestActivateLVM/lvm-13,
# TestActivate/bios-13 (all five steps), TestActivateLostDisk/uefi-13,
# TestRuncmd/bios-13 (apt-get install from the mirror through the jail's network), so
# these are CI's proofs of layouts (a), (b), (c) and of runcmd; Debian 12
# keeps one proof per layout: TestISL/bios (a), TestLVM/lvm (b),
# TestActivateLostDisk/uefi (c). TestISL/bios-13 (385 s) and
# TestLVM/lvm-13 (407 s) passed too (2026-12-05, after the CI check of
# this list), and join CI once a CI check with them is measured under
# 60 min; TestISL/uefi-13 passed too (401 s, 2026-12-05, load 4-5).
# Passed whole on 2026-12-05 and in `make e2e` only, for CI's time: each
# is 15-30 min of TCG here, more than the room left in 60 min:
# TestKexec/bios (1713 s: five switches), TestSoftReboot/bios-13 (1718 s),
# TestTrialRescue/bios (913-1202 s: a trial in emergency mode reboots by
# itself), TestExportImport (bios 1948 s, uefi 1747 s: two imports and two
# trial boots each). Their logic is in CI below the VM (root tests of
# activate, kexec planning, the rescue unit, export and import).
# Written and not yet passed whole on a machine quiet enough (docs/e2e.md
# says how far each got), so in `make e2e` only until they do: TestSync/lvm
# (issue 13), TestBenchOutage (issue 18). TestSyncKexec (issues 13 and 18:
# the final sync, then kexec) passed (263 s, 2026-12-05) and is in CI.
# TestKexecInitramfsHang (271 s, in CI) and TestFirmwareInitramfsHang
# (344 s, in `make e2e` only, for CI's time; issue 18: a trial hung in its
# initramfs, reset by the softdog drd adds to it, after -x watchdog=60
# and 120 s); their logic is in CI below the VM (TestActivateOnLoop,
# TestInitrdWatchdog, TestMenuGolden).
# TestRuncmdKernel (issues 12, 14: a kernel from the mirror in the jail,
# booted on trial) passed on Debian 13 (466 s) and, but for a message
# since reworded, on Debian 12 (1164 s; the install alone 768 s) on
# 2026-12-05: in `make e2e` only, for CI's time.
# Since 2026-12-05 every VM has one vCPU (QEMU 7.2's multi-threaded TCG
# killed Debian 13 guests with "Oops: int3" about one boot in twenty:
# scripts/e2e TestGuestCodePatching, docs/e2e.md). A VM then boots about
# 1.6 times slower (TestActivateLostDisk/uefi-13, quiet: 165 s of VM time
# against 104 s with two), and the list below, one after the other,
# would take about 50 min of CI's 60; so CI runs it in two halves side
# by side (scripts/e2e-pair), one VM per host core. The first CI check
# so (2026-12-05, 2228 s in all): half A 1806 s (TestActivate/bios-13
# 1217, TestActivateLostDisk/uefi-13 174, TestISL/bios 241, TestRuncmd/
# bios-13 174), half B 1350 s (TestActivateLVM/lvm-13 538, TestActivate
# LostDisk/uefi 161, TestISL/uefi 268, TestLVM/lvm 383); B's room then
# took issue 18's TestSyncKexec (263 s: the final sync, then kexec) and
# TestKexecInitramfsHang (271 s: the softdog drd adds to a trial's
# initramfs).
E2E_CI_A = TestActivate$$/bios-13$$|TestISL$$/bios$$|TestActivateLostDisk$$/uefi-13$$|TestRuncmd$$/bios-13$$
E2E_CI_B = TestActivateLVM$$/lvm-13$$|TestLVM$$/lvm$$|TestActivateLostDisk$$/uefi$$|TestSyncKexec$$|TestKexecInitramfsHang$$
# The images E2E_CI_A and _B boot, built first (not those it does not use).
E2E_CI_IMAGES = TestImages$$/^(bios|lvm|uefi|bios-13|lvm-13|uefi-13)$$
.PHONY: e2e-ci
e2e-ci:
	DRD_E2E=1 go test -count=1 -v -timeout 60m -run '$(E2E_CI_IMAGES)' ./scripts/e2e
	scripts/e2e-pair '$(E2E_CI_A)' '$(E2E_CI_B)'

# drd stamped with its version (drd --version), as the package ships it:
# static (CGO off), stripped (-s -w: Debian ships no symbols; Go's stack
# traces need none), the paths of this machine trimmed.
VERSION := $(shell git describe --tags --always --dirty)
.PHONY: drd deb
drd:
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o build/drd ./cmd/drd

# The Debian package, build/drd_<version>_amd64.deb (packaging/,
# docs/boot.md): drd, STAGEISL's initramfs, man pages, completions, the
# boot-check unit, /etc/drd. Then lintian on it (no error; each warning
# overridden with its reason in packaging/debian/lintian-overrides).
deb: drd
	go run ./isl/mkisl -o build/isl
	deb=$$(go run ./packaging/mkdeb -drd build/drd -isl build/isl/drd-isl.img -version "$(VERSION)" \
		-date "$$(git log -1 --format=%cI)" -o build) && ls -l "$$deb" && lintian --fail-on error,warning "$$deb"

.PHONY: isl
# The STAGEISL initramfs (docs/isl.md): u-root's builder in busybox mode,
# zstd; into build/isl (gitignored). Then the tests that check its contents
# and that the kernel unpacks it followed by a modules image (unit runs
# before and skips that part: there is no build/isl yet).
isl:
	go run ./isl/mkisl -o build/isl
	DRD_ISL_BUILD=1 go test -count=1 -run 'TestBuild$$|TestModuleImageAfterISL$$' ./isl
