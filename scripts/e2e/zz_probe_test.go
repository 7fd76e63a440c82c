package e2e

import "testing"

func TestZZProbe(t *testing.T) {
	Require(t)
	vm := Boot(t, LayoutLVM, Options{NoDRD: true})
	for _, c := range []string{
		"uname -r; lvm version | head -3",
		"vgs --reportformat json --units b --nosuffix -o vg_name,vg_uuid,vg_size,vg_free,vg_extent_size,vg_free_count",
		"lvs --reportformat json --units b --nosuffix -o vg_name,lv_name,lv_uuid,lv_size,lv_attr,origin,lv_kernel_major,lv_kernel_minor",
		"pvs --reportformat json --units b --nosuffix -o pv_name,vg_name,pv_size",
		"cat /sys/class/block/dm-0/dm/uuid /sys/class/block/dm-0/dm/name; cat /etc/fstab; findmnt",
		`set -x; C='backup{backup=0 archive=0}'
fsfreeze -f /var; timeout 30 lvcreate --config "$C" -y -s -n var_drdsnap -L 64m sysvg/var; echo rc=$?; fsfreeze -u /var
lvs -o lv_name,lv_attr,origin
timeout 30 lvremove --config "$C" -y sysvg/var_drdsnap; echo rc=$?`,
		`set -x; C='backup{backup=0 archive=0}'
trap 'fsfreeze -u /var; fsfreeze -u /' EXIT
fsfreeze -f /var; fsfreeze -f /; timeout 30 lvcreate --config "$C" -y -s -n root_drdsnap -L 64m sysvg/root; echo rc=$?; timeout 30 lvcreate --config "$C" -y -s -n var_drdsnap -L 64m sysvg/var; echo rc=$?; fsfreeze -u /; fsfreeze -u /var; trap - EXIT
lvs --reportformat json --units b --nosuffix -o vg_name,lv_name,lv_uuid,lv_size,lv_attr,origin,lv_kernel_major,lv_kernel_minor
mkdir -p /mnt/s && mount -o ro,noload /dev/sysvg/root_drdsnap /mnt/s && ls /mnt/s && umount /mnt/s
lvremove --config "$C" -y sysvg/root_drdsnap sysvg/var_drdsnap; echo rc=$?`,
	} {
		r := vm.Run(c)
		t.Logf("$ %s\nrc=%d\n%s\n%s", c, r.Code, r.Stdout, r.Stderr)
	}
}
