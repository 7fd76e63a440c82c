package bootenv

import "github.com/drd-linux/drd/images"

// ReadDevices builds the device table of the machine: every block device
// in sysDir ("/sys"), its place in the device hierarchy, its signature and,
// for partitions of GPT disks, the partition's GUID and name. Devices that
// cannot be read (an empty loop device, a drive with no medium) are listed
// without a signature.
func ReadDevices(sysDir string) (DeviceTable, error) {
	devs, err := images.Devices(sysDir)
	if err != nil {
		return nil, err
	}
	gpt := map[string][]images.Part{} // by disk name
	var t DeviceTable
	for _, d := range devs {
		if d.Size == 0 {
			continue
		}
		b := BlockDev{Path: d.Path, Major: d.Major, Minor: d.Minor, Disk: "/dev/" + d.Disk,
			Partition: d.Partition, Size: d.Size, ID: DevID{Path: d.Path}, BackingFile: d.BackingFile}
		if sig, err := images.ProbePath(d.Path); err == nil {
			b.FSType, b.ID.UUID, b.ID.Label = sig.Type, sig.UUID, sig.Label
		}
		if d.Partition > 0 {
			parts, ok := gpt[d.Disk]
			if !ok {
				parts, _ = images.ReadGPT("/dev/" + d.Disk)
				gpt[d.Disk] = parts
			}
			for _, p := range parts {
				if p.Number == d.Partition {
					b.ID.PartUUID, b.ID.PartLabel = p.GUID, p.Name
				}
			}
		}
		t = append(t, b)
	}
	return t, nil
}
