package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/msdx/msdx/curve"
)

// baselinesTOML holds the published accuracies of architectures.md §7 with their sources.
//
//go:embed baselines.toml
var baselinesTOML []byte

// Baseline is one published series of baselines.toml.
type Baseline struct {
	ID       string `toml:"id"`
	Label    string `toml:"label"`
	Model    string `toml:"model"`
	Dataset  string `toml:"dataset"`
	Protocol string `toml:"protocol"`
	Source   string `toml:"source"`
	Note     string `toml:"note"`
	// Points are (millions of MACs, top-1 %) pairs.
	Points [][2]float64 `toml:"points"`
}

// Baselines returns the published series shipped with msdx; it panics if the embedded
// file is malformed, which its test rules out.
func Baselines() []Baseline {
	var f struct {
		Series []Baseline `toml:"series"`
	}
	md, err := toml.NewDecoder(bytes.NewReader(baselinesTOML)).Decode(&f)
	if err != nil {
		panic("report: baselines.toml: " + err.Error())
	}
	if und := md.Undecoded(); len(und) > 0 {
		panic(fmt.Sprintf("report: baselines.toml: unknown field %s", und[0]))
	}
	return f.Series
}

// baselines returns the published series that choice (see Options.Baselines) asks for
// as report series, and the notes that qualify them, and sets h.Dataset to their dataset.
func (h *Header) baselines(choice string) ([]Series, []string, error) {
	own := h.dataset()
	dataset := choice
	switch choice {
	case BaselinesNone:
		return nil, nil, nil
	case BaselinesAuto:
		if own == "" {
			return nil, []string{fmt.Sprintf("No published baselines are shown: the data (%s) are not all CIFAR-10 or all CIFAR-100; --baselines cifar10 or cifar100 draws them for scale.", strings.Join(h.Data, ", "))}, nil
		}
		dataset = own
	case "cifar10", "cifar100":
	default:
		return nil, nil, fmt.Errorf("baselines %q: want none, cifar10 or cifar100 (or leave it out to draw those of the data when it is CIFAR)", choice)
	}
	var out []Series
	for _, b := range Baselines() {
		if b.Dataset != dataset {
			continue
		}
		s := Series{
			ID: KindBaseline + ":" + b.ID, Label: b.Label, Kind: KindBaseline, Colour: -1,
			Source: b.Source, Dataset: b.Dataset, Protocol: b.Protocol, Note: b.Note,
		}
		for _, p := range b.Points {
			switch b.Protocol {
			case ProtocolAnytime:
				s.Anytime = append(s.Anytime, Point{MACs: p[0] * 1e6, Top1: p[1]})
			case ProtocolBudgeted:
				s.Budgeted = append(s.Budgeted, curve.Point{MACs: p[0] * 1e6, Top1: p[1]})
			default:
				return nil, nil, fmt.Errorf("baselines.toml: series %s: unknown protocol %q", b.ID, b.Protocol)
			}
		}
		out = append(out, s)
	}
	h.Dataset = dataset
	notes := []string{PublishedNote}
	if own != dataset {
		notes = append(notes, fmt.Sprintf("The data (%s) are not %s's own files (data %s:DIR); the published %s baselines are drawn because --baselines asks for them, for scale only.", strings.Join(h.Data, ", "), datasetName(dataset), dataset, datasetName(dataset)))
	}
	return out, notes, nil
}

// datasetName is the display name of a dataset kind.
func datasetName(kind string) string {
	switch kind {
	case "cifar10":
		return "CIFAR-10"
	case "cifar100":
		return "CIFAR-100"
	}
	return kind
}
