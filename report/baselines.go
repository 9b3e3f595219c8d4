package report

import (
	"bytes"
	_ "embed"
	"fmt"

	"github.com/BurntSushi/toml"
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

// baselinesFor returns the published series for dataset ("cifar10" or "cifar100") as
// report series, and the notes that qualify them.
func baselinesFor(dataset string, data []string, classes int) ([]Series, []string, error) {
	if dataset == "" {
		return nil, []string{fmt.Sprintf("No published baselines are shown: the inputs are not all CIFAR-10 or all CIFAR-100 (data %v, %d classes).", data, classes)}, nil
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
				s.Budgeted = append(s.Budgeted, CurvePoint{MACs: p[0] * 1e6, Top1: p[1]})
			default:
				return nil, nil, fmt.Errorf("baselines.toml: series %s: unknown protocol %q", b.ID, b.Protocol)
			}
		}
		out = append(out, s)
	}
	notes := []string{PublishedNote}
	if k := dataKind(data[0]); k != dataset {
		notes = append(notes, fmt.Sprintf("The data (%s) are not %s; the published %s baselines are shown because the networks have its input shape and number of classes, for scale only.", data[0], datasetName(dataset), datasetName(dataset)))
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
