package results

import (
	"fmt"
	"strings"
)

// Name is a benchmark name taken apart:
// Alloc/scenario=S[/variant parts]/guest=G/mode=M, or Boundary/scenario=S/parts/guest=G.
type Name struct {
	Suite    string // the base name: "Alloc" (the default) or "Boundary"
	Scenario string
	Variant  string // the key=value parts between the scenario and the guest, joined by "/"; may be empty
	Guest    string
	Mode     string // empty for none
}

// String returns the name without the "Benchmark" prefix.
func (n Name) String() string {
	suite := n.Suite
	if suite == "" {
		suite = "Alloc"
	}
	s := suite + "/scenario=" + n.Scenario
	if n.Variant != "" {
		s += "/" + n.Variant
	}
	s += "/guest=" + n.Guest
	if n.Mode != "" {
		s += "/mode=" + n.Mode
	}
	return s
}

// Label names the scenario and its variant, as errors and logs do: churn, or
// prealloc-vs-grow/policy=mmap.
func (n Name) Label() string {
	if n.Variant == "" {
		return n.Scenario
	}
	return n.Scenario + "/" + n.Variant
}

// ParseName takes a benchmark name apart, with or without its "Benchmark" prefix.
// Parts other than scenario, guest and mode form the variant, in order. A name
// without a base name, a scenario or a guest, or with a part that is not
// key=value, is an error.
func ParseName(s string) (Name, error) {
	n := SplitName(s)
	switch {
	case n.Suite == "":
		return Name{}, fmt.Errorf("benchmark %q: no base name", s)
	case n.Scenario == "" || n.Guest == "":
		return Name{}, fmt.Errorf("benchmark %q: want scenario= and guest= parts", s)
	}
	for _, part := range strings.Split(s, "/")[1:] {
		if !strings.Contains(part, "=") {
			return Name{}, fmt.Errorf("benchmark %q: part %q is not key=value", s, part)
		}
	}
	return n, nil
}

// SplitName is ParseName without the checks, for partial names such as
// benchproc's projections ("scenario=churn/guest=pool"): a first part without
// "=" is the base name, other parts without "=" are dropped, and missing parts
// are empty.
func SplitName(s string) Name {
	var n Name
	var variant []string
	for i, part := range strings.Split(strings.TrimPrefix(s, "Benchmark"), "/") {
		k, v, ok := strings.Cut(part, "=")
		switch {
		case !ok && i == 0:
			n.Suite = part
		case !ok:
		case k == "scenario":
			n.Scenario = v
		case k == "guest":
			n.Guest = v
		case k == "mode":
			n.Mode = v
		default:
			variant = append(variant, part)
		}
	}
	n.Variant = strings.Join(variant, "/")
	return n
}
