package safety

import (
	"slices"
	"strings"
	"testing"
)

// ruleCases are each rule's table: lines it must flag, and lines close
// to them it must leave alone (or leave to another rule).
var ruleCases = map[string][]struct {
	line string
	want bool
}{
	"firmware-flash": {
		{"fwupdmgr update -y --no-reboot-check", true},
		{"[ -x /usr/bin/fwupdmgr ] && fwupdmgr install /usr/share/fw/bios.cab", true},
		{"flashrom -p internal -w /usr/lib/firmware/bios.rom", true},
		{"nvme fw-download /dev/nvme0 --fw=/lib/firmware/ssd.bin", true},
		{"hdparm --fwdownload /lib/firmware/disk.bin --yes-i-know-what-i-am-doing /dev/sda", true},
		{"ipmitool hpm upgrade /usr/share/bmc.img force", true},
		{"fwupdmgr get-devices", false},
		{"fwupdmgr refresh || true", false},
		{"hdparm -I /dev/sda", false},
	},
	"efi-variables": {
		{"efibootmgr -c -d /dev/sda -p 1 -L debian -l '\\EFI\\debian\\shimx64.efi'", true},
		{"efibootmgr -o 0001,0000", true},
		{"efibootmgr --bootnext 0003", true},
		{"efibootmgr -qB -b 0004", true},
		{"efivar -n 8be4df61-93ca-11d2-aa0d-00e098032b8c-BootOrder -w -f /tmp/order", true},
		{"mokutil --import /var/lib/shim-signed/mok/MOK.der", true},
		{"bootctl install", true},
		{"printf '\\x07\\x00\\x00\\x00\\x01' > /sys/firmware/efi/efivars/Foo-8be4df61-93ca-11d2-aa0d-00e098032b8c", true},
		{"cat var.bin | tee /sys/firmware/efi/efivars/Boot0001-8be4df61-93ca-11d2-aa0d-00e098032b8c", true},
		{"efibootmgr -v", false},
		{"if [ -d /sys/firmware/efi/efivars ]; then echo uefi; fi", false},
		{"bootctl status", false},
		{"mokutil --sb-state", false},
	},
	"boot-record": {
		{"/usr/sbin/grub-install /dev/sda", true},
		{"/usr/sbin/grub-install --target=i386-pc --force --no-floppy $DEVICE /dev/vda", true},
		{"grub-install /dev/sda", false},
		{"dd if=/usr/lib/syslinux/mbr/mbr.bin of=/dev/sda bs=440 count=1 conv=notrunc", true},
		{"dd if=boot.img of=/dev/nvme0n1", true},
		{"cat /usr/lib/mbr.bin > /dev/vda", true},
		{"sgdisk -n 1:0:+1M -t 1:ef02 /dev/sdb", true},
		{"install-mbr /dev/sda", true},
		{"grub-install --target=x86_64-efi --efi-directory=/boot/efi --no-nvram", false},
		{"dd if=/dev/zero of=/var/lib/swapfile bs=1M count=512", false},
		{"dd if=/dev/sda of=/tmp/mbr.bak bs=512 count=1", false},
		{"echo done > /dev/null", false},
	},
	"daemon-request": {
		{"rndc reload", true},
		{"mysql -h 127.0.0.1 -e 'FLUSH PRIVILEGES'", true},
		{"curl -fsS http://localhost:8080/reload", true},
		{"redis-cli config rewrite", true},
		{"mysql --defaults-file=/etc/mysql/debian.cnf -e 'select 1'", false},
		{"curl -o /tmp/x https://example.org/x", false},
	},
	"boot-loader": {
		{"grub-install /dev/sda", true},
		{"if grub-install --target=i386-pc --force --no-floppy $real_device ; then", true},
		{"grub-install --target=x86_64-efi --efi-directory=/boot/efi --no-nvram", true},
		{"run_grub_install --target=x86_64-efi \"$@\"", true},
		{"update-grub 3>&-", true},
		{"exec grub-mkconfig -o /boot/grub/grub.cfg \"$@\"", true},
		{"if [ -e /boot/grub/grub.cfg ]; then echo menu; fi", false},
		{"grub-probe -t device /boot", false},
	},
	"service-control": {
		{"deb-systemd-invoke start nginx.service >/dev/null || true", true},
		{"invoke-rc.d nginx restart || exit 1", true},
		{"systemctl --system daemon-reload >/dev/null || true", true},
		{"if [ -d /run/systemd/system ]; then systemctl restart ssh; fi", true},
		{"service apache2 reload", true},
		{"/etc/init.d/ssh restart", true},
		{"start-stop-daemon --start --exec /usr/sbin/foo", true},
		{"systemctl enable nginx.service", false},
		{"deb-systemd-helper enable nginx.service", false},
		{"update-rc.d nginx defaults", false},
		{"systemctl is-active --quiet nginx", false},
	},
	"kill": {
		{"kill -HUP $(cat /run/nginx.pid)", true},
		{"if pidof x; then killall -HUP x; fi", true},
		{"pkill -f foo || true", true},
		{"fuser -k 80/tcp", true},
		{"echo 'do not kill me'", false},
		{"fuser -v /var/lib/foo", false},
	},
	"kernel-module": {
		{"modprobe dummy", true},
		{"insmod /lib/modules/x.ko", true},
		{"rmmod loop || true", true},
		{"modprobe -n dummy", false},
		{"depmod -a 6.1.0-18-amd64", false},
	},
	"kernel-parameter": {
		{"sysctl -w vm.swappiness=1", true},
		{"sysctl -p /etc/sysctl.d/99-foo.conf", true},
		{"sysctl net.ipv4.ip_forward=1", true},
		{"echo 1 > /proc/sys/net/ipv4/ip_forward", true},
		{"echo h > /proc/sysrq-trigger", true},
		{"echo deadline > /sys/block/sda/queue/scheduler", true},
		{"sysctl -n kernel.osrelease", false},
		{"cat /proc/sys/kernel/hostname", false},
	},
	"hostname": {
		{"hostname evil", true},
		{"hostname -F /etc/hostname", true},
		{"hostnamectl set-hostname web01", true},
		{"hostname -f >/dev/null", false},
		{"HOST=$(hostname)", false},
	},
	"clock": {
		{"date -s 2001-01-01", true},
		{"hwclock --systohc", true},
		{"timedatectl set-timezone UTC", true},
		{"date +%s", false},
		{"timedatectl status", false},
	},
	"network": {
		{"ip link add d0 type dummy", true},
		{"ip -6 addr flush dev eth0", true},
		{"iptables -A INPUT -j DROP", true},
		{"nft add rule inet filter input drop", true},
		{"nft -f /etc/nftables.conf", true},
		{"ifup eth1", true},
		{"ip -o link show", false},
		{"nft list ruleset", false},
	},
	"reboot": {
		{"reboot", true},
		{"shutdown -r now", true},
		{"init 6", true},
		{"systemctl reboot", true},
		{"echo reboot required > /run/reboot-required", false},
		{"touch /var/run/reboot-required", false},
	},
	"mount": {
		{"mount -t tmpfs none /mnt", true},
		{"umount /boot/efi || true", true},
		{"swapon -a", true},
		{"mount | grep -q /boot", false},
		{"mountpoint -q /boot", false},
	},
	"daemon-socket": {
		{"dbus-send --system --type=method_call --dest=org.freedesktop.DBus / org.freedesktop.DBus.ReloadConfig", true},
		{"udevadm trigger --subsystem-match=net", true},
		{"busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager Reload", true},
		{"udevadm info /dev/sda", false},
	},
	"background": {
		{"/usr/sbin/foo-daemon &", true},
		{"nohup sleep 3600 >/dev/null 2>&1 &", true},
		{"foo >/dev/null 2>&1", false},
		{"[ -x /usr/bin/foo ] && foo", false},
		{"echo 'a & b'", false},
	},
}

// TestRules runs every rule's table: each line must be flagged under
// that rule (the first it matches) or, for false, not under it.
func TestRules(t *testing.T) {
	for _, r := range Rules {
		cases := ruleCases[r.Name]
		hits, misses := 0, 0
		for _, c := range cases {
			if c.want {
				hits++
			} else {
				misses++
			}
		}
		if hits == 0 || misses == 0 {
			t.Errorf("rule %s: its table needs lines it flags and lines it does not (%d, %d)", r.Name, hits, misses)
		}
		t.Run(r.Name, func(t *testing.T) {
			for _, c := range cases {
				f, ok := scanLine(c.line)
				got := ok && f.Rule == r.Name
				if got != c.want {
					t.Errorf("%q: flagged %v (%+v), want %v", c.line, got, f, c.want)
				}
				if got && (f.Level != r.Level || f.Text != c.line) {
					t.Errorf("%q: finding %+v", c.line, f)
				}
			}
		})
	}
	for name := range ruleCases {
		if !slices.ContainsFunc(Rules, func(r Rule) bool { return r.Name == name }) {
			t.Errorf("a table for rule %s, which does not exist", name)
		}
	}
}

func TestSplitLine(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []string // name args... | writes, per command; & marks background
	}{
		{"a b; c 'd; e' && f || g | h", []string{"a b", "c d; e", "f", "g", "h"}},
		{"if [ -x /x ]; then FOO=1 sudo -u www /x/y -q >/tmp/o 2>&1; fi", []string{"[ -x /x ]", "y -q > /tmp/o", "fi"}},
		{"x=$(cat /run/a.pid) # kill it", []string{"cat /run/a.pid"}},
		{"daemon --fg & wait", []string{"daemon --fg &", "wait"}},
		{"dd if=a of=/dev/sda bs=1", []string{"dd if=a of=/dev/sda bs=1 > /dev/sda"}},
		{"echo \"a \\\"b\\\"\" >> /etc/x", []string{"echo a \"b\" > /etc/x"}},
		{"# only a comment", nil},
	} {
		var got []string
		for _, c := range SplitLine(tc.line) {
			s := strings.Join(append([]string{c.Name}, c.Args...), " ")
			if len(c.Writes) > 0 {
				s += " > " + strings.Join(c.Writes, " ")
			}
			if c.Background {
				s += " &"
			}
			got = append(got, s)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: %q, want %q", tc.line, got, tc.want)
		}
	}
}
