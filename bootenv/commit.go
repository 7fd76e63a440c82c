package bootenv

import (
	"context"
	"errors"
	"fmt"

	"github.com/drd-linux/drd/internal/report"
)

// ErrNotCommittable is returned when drd commit refuses.
var ErrNotCommittable = errors.New("not committable")

// CommitOptions of drd commit.
type CommitOptions struct {
	Image   string // the image to make the base; "": the booted one
	Preview bool
}

// CommitChange is one image's state before and after a commit.
type CommitChange struct {
	Image    string `json:"image"`
	Disk     string `json:"disk"`
	From, To State
}

// CommitPlan is what drd commit does, decided before it changes anything.
type CommitPlan struct {
	Base    *Image
	Changes []CommitChange // the images it retires
	Marks   []Mark         // the records it writes: the base's history, the retired images
}

// PlanCommit decides what drd commit does to the images of st, or why it
// refuses: a trial boot is pending (cur: the freshest block, nil when
// none), name is not the booted image, or the booted image has not
// passed a trial boot (state good). The base's record gets a history
// event; every other image present is retired, its record kept.
func PlanCommit(st *Status, name string) (CommitPlan, error) {
	booted := st.Booted
	if name == "" {
		name = booted.Name
	}
	if b := st.Boot; b != nil && b.Pending() && b.Trial == booted.Name {
		return CommitPlan{}, fmt.Errorf("%w: the booted image %s is on trial and has not passed its health checks yet (drd boot-check runs them at start-up): wait until drd status shows it good, then drd commit",
			ErrNotCommittable, booted.Name)
	}
	if b := st.Boot; b != nil && b.Pending() {
		return CommitPlan{}, fmt.Errorf("%w: %s is on trial (%d boots left, then %s): reboot into it and let its health checks pass, or drd deactivate; then drd commit again",
			ErrNotCommittable, b.Trial, b.Tries, b.Next)
	}
	if name != booted.Name && name != booted.ID {
		img := imageNamed(st, name)
		if img == nil {
			return CommitPlan{}, fmt.Errorf("%w: no image %s (drd status lists them)", ErrNotCommittable, name)
		}
		return CommitPlan{}, fmt.Errorf("%w: %s is not the booted image (%s is): drd commit makes the booted image the base once it passed a trial boot; activate %s on trial (drd activate -x trial=true %s), reboot, then drd commit",
			ErrNotCommittable, img.Name, booted.Name, img.Name, img.Name)
	}
	if booted.State != Good {
		return CommitPlan{}, fmt.Errorf("%w: the booted image %s is %s, not good: only an image that booted on trial and passed its health checks is committed (drd activate -x trial=true on a clone, reboot, then drd commit)",
			ErrNotCommittable, booted.Name, booted.State)
	}
	if b := st.Boot; b != nil && b.Next != "" && b.Next != booted.Name {
		return CommitPlan{}, fmt.Errorf("%w: %s is the boot target, not the booted %s: run drd deactivate (or activate %s), then drd commit",
			ErrNotCommittable, b.Next, booted.Name, booted.Name)
	}
	p := CommitPlan{Base: booted}
	for _, img := range st.Images {
		if img.Booted || img.State == Retired {
			continue
		}
		p.Changes = append(p.Changes, CommitChange{Image: img.Name, Disk: where(img), From: img.State, To: Retired})
		p.Marks = append(p.Marks, Mark{Image: img.Name, State: Retired, Action: "commit", Result: "succeeded",
			Detail: fmt.Sprintf("retired: %s was committed as the base; the next drd clone may reuse this image's disk", booted.Name)})
	}
	if len(p.Marks) > 0 {
		p.Marks = append([]Mark{{Image: booted.Name, Action: "commit", Result: "succeeded", Detail: "committed as the base; retired " + names(p.Changes)}}, p.Marks...)
	}
	return p, nil
}

func names(cs []CommitChange) string {
	s := ""
	for i, c := range cs {
		if i > 0 {
			s += ", "
		}
		s += c.Image
	}
	return s
}

// Commit makes the booted image, good after its trial boot, the base:
// every other image is retired (its records kept; the next drd clone may
// reuse its disk). It writes records only: the boot target is the booted
// image already.
func (m Machine) Commit(ctx context.Context, opt CommitOptions, r report.Reporter) (CommitPlan, error) {
	r.Step("Scanning for system images")
	st, err := m.Scan(ctx)
	if err != nil {
		return CommitPlan{}, err
	}
	p, err := PlanCommit(st, opt.Image)
	if err != nil {
		return CommitPlan{}, err
	}
	if len(p.Changes) == 0 {
		r.Step("%s is the base already: no other image to retire", p.Base.Name)
		return p, nil
	}
	if opt.Preview {
		r.Step("Preview: %s becomes the base; retire %s (nothing was written)", p.Base.Name, names(p.Changes))
		return p, nil
	}
	r.Step("Recording %s as the base and retiring %s", p.Base.Name, names(p.Changes))
	if err := m.applyMarks(st, p.Marks, r); err != nil {
		return p, err
	}
	return p, nil
}
