package bootenv

// Status is what drd status shows.
type Status struct {
	Booted    *Image   `json:"booted"`    // the image whose root is --root
	Activated string   `json:"activated"` // name of the next boot target
	Images    []*Image `json:"images"`    // every image found, booted first
}
