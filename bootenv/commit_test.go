package bootenv

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// commitStatus is a machine booted into sysimage_001 (state booted) with
// the original sysimage_000 and a third image sysimage_002 (complete).
func commitStatus(booted State, boot *BootState) *Status {
	b := &Image{Record: Record{Name: "sysimage_001", ID: "id-1", State: booted}, Disk: "/dev/vdb", Booted: true}
	o := &Image{Record: Record{Name: "sysimage_000", ID: "id-0", State: Booted}, Disk: "/dev/vda"}
	c := &Image{Record: Record{Name: "sysimage_002", ID: "id-2", State: Complete, Target: "/srv/c.img"}, ImageFile: "/srv/c.img"}
	return &Status{Booted: b, Activated: b.Name, Images: []*Image{b, o, c}, Boot: boot}
}

func TestPlanCommit(t *testing.T) {
	for _, tt := range []struct {
		name    string
		st      *Status
		image   string
		err     string // "" for none
		retired []string
	}{
		{"good, no block", commitStatus(Good, nil), "", "", []string{"sysimage_000", "sysimage_002"}},
		{"good after its trial", commitStatus(Good, &BootState{Seq: 6, Next: "sysimage_001"}), "", "", []string{"sysimage_000", "sysimage_002"}},
		{"named by name", commitStatus(Good, nil), "sysimage_001", "", []string{"sysimage_000", "sysimage_002"}},
		{"named by id", commitStatus(Good, nil), "id-1", "", []string{"sysimage_000", "sysimage_002"}},
		{"booted, never on trial", commitStatus(Booted, nil), "", "is booted, not good", nil},
		{"bad", commitStatus(Bad, nil), "", "is bad, not good", nil},
		{"on trial, checks not passed", commitStatus(Trial, &BootState{Seq: 5, Next: "sysimage_000", Trial: "sysimage_001", Tries: 1}), "", "has not passed its health checks yet", nil},
		{"another image's trial pending", commitStatus(Good, &BootState{Seq: 7, Next: "sysimage_001", Trial: "sysimage_002", Tries: 2}), "", "sysimage_002 is on trial", nil},
		{"another image activated", commitStatus(Good, &BootState{Seq: 7, Next: "sysimage_000"}), "", "sysimage_000 is the boot target", nil},
		{"not the booted image", commitStatus(Good, nil), "sysimage_000", "sysimage_000 is not the booted image", nil},
		{"no such image", commitStatus(Good, nil), "sysimage_009", "no image sysimage_009", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := PlanCommit(tt.st, tt.image)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrNotCommittable) {
					t.Fatalf("PlanCommit = %+v, %v; want a refusal %q", p, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range p.Changes {
				if c.To != Retired {
					t.Errorf("%s: to %s, want retired", c.Image, c.To)
				}
				got = append(got, c.Image)
			}
			if !slices.Equal(got, tt.retired) {
				t.Errorf("retires %v, want %v", got, tt.retired)
			}
			// The base gets a history event and keeps its state; each
			// retired image's record says retired.
			if len(p.Marks) != 1+len(tt.retired) || p.Marks[0].Image != "sysimage_001" || p.Marks[0].State != "" || p.Marks[0].Action != "commit" {
				t.Fatalf("marks %+v", p.Marks)
			}
			for i, name := range tt.retired {
				if mk := p.Marks[1+i]; mk.Image != name || mk.State != Retired || mk.Action != "commit" {
					t.Errorf("mark %+v, want %s retired", mk, name)
				}
			}
		})
	}
}

// A second commit finds nothing to retire: no records change.
func TestPlanCommitAgain(t *testing.T) {
	st := commitStatus(Good, nil)
	st.Images[1].State, st.Images[2].State = Retired, Retired
	p, err := PlanCommit(st, "")
	if err != nil || len(p.Changes) != 0 || len(p.Marks) != 0 {
		t.Fatalf("PlanCommit = %+v, %v; want nothing to do", p, err)
	}
}
