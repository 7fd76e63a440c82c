# Makefile: a thin list of the go commands of drd. Each engineer adds the
# targets of their area here; keep every target a plain go command.

.PHONY: e2e
# VM end-to-end scenarios (scripts/e2e, docs/e2e.md): as root, with QEMU,
# OVMF and debootstrap installed. Images are built first and cached in
# /var/tmp/drd-e2e, so build times show on their own.
e2e:
	DRD_E2E=1 go test -count=1 -v -timeout 30m -run 'TestImages' ./scripts/e2e
	DRD_E2E=1 go test -count=1 -v -timeout 60m ./scripts/e2e/...
