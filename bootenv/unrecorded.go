package bootenv

import (
	"fmt"
	"regexp"
	"sync"
	"time"
)

// anchorPartName matches the GPT name of the partition that holds a
// clone's root: its own (drd-sysimage_001-root) or the LVM partition of
// its volume group (drd-sysimage_001-lvm).
var anchorPartName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^drd-(sysimage_\d{3})-(root|lvm)$`) })

// CloneEvent is an event of the origin's history about its clone whose id
// is image: started (before anything is written on the target),
// succeeded or failed.
func CloneEvent(result, detail, image string) Event {
	return Event{Time: time.Now().UTC(), Action: "clone", User: currentUser(), Result: result, Detail: detail, Image: image}
}

// startedClones are the clones the booted image's history says it began,
// by the clone's id, with the last event of each. drd clone records the
// start before it writes anything on the target.
func startedClones(booted *Record) map[string]Event {
	started := map[string]Event{}
	for _, e := range booted.History {
		if e.Action == "clone" && e.Image != "" {
			started[e.Image] = e
		}
	}
	return started
}

// unrecordedClones lists the clones of the booted image that have a
// partition table on a disk but no record: killed (or failed) between
// writing the partition table and writing image.json, while it made the
// file systems. Such a clone's anchor partition (see anchorPartName)
// carries the clone's id as its GPT partition GUID, from the moment the
// partition table is written. found are the images read from their
// records; held says a drd command runs now (a clone under way is
// cloning, not broken).
func unrecordedClones(devs DeviceTable, booted *Record, found []*Image, held bool) []*Image {
	started := startedClones(booted)
	for _, img := range found {
		delete(started, img.ID)
	}
	var out []*Image
	for _, d := range devs {
		e, ok := started[d.ID.PartUUID]
		m := anchorPartName().FindStringSubmatch(d.ID.PartLabel)
		if !ok || m == nil {
			continue
		}
		delete(started, d.ID.PartUUID)
		target := d.Disk
		if f := devs.backingFileOf(d.Disk); f != "" {
			target = f
		}
		img := &Image{
			Record: Record{
				Name: m[1], ID: d.ID.PartUUID, Created: e.Time, Origin: booted.ID, System: booted.System,
				Target: target, State: Broken,
				Reason:  fmt.Sprintf("the clone to %s was interrupted before it wrote its record; run drd clone -t %s -x overwrite=true again", target, target),
				History: []Event{e},
			},
			Disk:      d.Disk,
			ImageFile: devs.backingFileOf(d.Disk),
		}
		if held && e.Result == "started" {
			img.State, img.Reason = Cloning, ""
		}
		out = append(out, img)
	}
	return out
}
