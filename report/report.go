// Package report builds the accuracy-against-cost report of "msdx pareto" from run and
// study directories: a JSON-serialisable data model (Report), its figures drawn with
// gonum/plot, and one self-contained HTML page (inline SVG and CSS, fonts embedded, no
// script and no external URL).
//
// The data model holds one Series per model: a training run, an ablation variant (over
// its seeds), a study trial, or a published baseline (shipped in baselines.toml, drawn
// only for the matching dataset). Each series has a colour index that every figure uses.
// Costs are MACs per image under the reference cost model (evaluate.CostReference: the
// cumulative count of the MSDNet/RANet op counters, earlier heads included).
package report

import (
	"time"

	"github.com/msdx/msdx/curve"
)

// Series kinds recorded in Series.Kind.
const (
	KindRun      = "run"      // a training run directory evaluated by "msdx eval"
	KindVariant  = "variant"  // an ablation variant, over its seeds (ablation.json)
	KindTrial    = "trial"    // one trial of a study without ablation.json
	KindBaseline = "baseline" // published numbers (baselines.toml)
)

// Protocols of a baseline series, recorded in Series.Protocol.
const (
	ProtocolAnytime  = "anytime"
	ProtocolBudgeted = "budgeted"
)

// Report is the data model of a report: everything the HTML page and the figures show.
type Report struct {
	// Title heads the page.
	Title string `json:"title"`
	// Header says what was run and where the report was made.
	Header Header `json:"header"`
	// Series are the models, msdx-trained ones first in input order, then the baselines.
	Series []Series `json:"series"`
	// Pareto is the front over every exit of every msdx-trained series.
	Pareto Pareto `json:"pareto"`
	// Ablations holds one entry per ablation study given.
	Ablations []Ablation `json:"ablations,omitempty"`
	// Breakdowns holds the per-exit cost of each distinct network, split by part.
	Breakdowns []Breakdown `json:"breakdowns"`
	// Notes are caveats the page prints (baseline provenance, dataset mismatch, ...).
	Notes []string `json:"notes,omitempty"`
}

// Header says what was run: data, recipes, seeds, msdx versions, and the machine and
// build that made the report.
type Header struct {
	// Sources are the directories read, in the order given.
	Sources []Source `json:"sources"`
	// Data are the dataset references of the inputs, deduplicated in input order.
	Data []string `json:"data"`
	// Dataset is the dataset whose published baselines the report draws, "cifar10" or
	// "cifar100": by default that of the inputs when they all trained on it, or the one
	// Options.Baselines names; "" when none are drawn. Classes is the inputs' number of
	// classes (0 when they differ).
	Dataset string `json:"dataset"`
	Classes int    `json:"classes"`
	// Recipes are the recipes of the inputs as named on their command lines, deduplicated.
	Recipes []string `json:"recipes"`
	// Epochs are the training epochs of the inputs, deduplicated and sorted.
	Epochs []int `json:"epochs"`
	// Seeds are the training seeds of the inputs, deduplicated and sorted.
	Seeds []int64 `json:"seeds"`
	// TrainedWith are the msdx versions that trained the inputs, deduplicated.
	TrainedWith []string `json:"trained_with"`
	// Generator is the msdx version that made the report.
	Generator string `json:"generator"`
	// Go is the Go version msdx was built with.
	Go string `json:"go"`
	// Machine is where the report was made.
	Machine Machine `json:"machine"`
	// Generated is when the report was made.
	Generated time.Time `json:"generated"`
}

// Source is one input directory.
type Source struct {
	// Dir is the directory as given.
	Dir string `json:"dir"`
	// Kind is "run" or "study" (the study's kind in StudyKind).
	Kind      string `json:"kind"`
	StudyKind string `json:"study_kind,omitempty"`
}

// Machine describes a computer.
type Machine struct {
	Hostname string `json:"hostname"`
	// CPU is the model name of the first processor in /proc/cpuinfo ("" when unknown).
	CPU string `json:"cpu"`
	// Cores is the number of logical processors.
	Cores int `json:"cores"`
	// OS and Arch are Go's GOOS and GOARCH.
	OS   string `json:"os"`
	Arch string `json:"arch"`
}

// Series is one model: its anytime points and budgeted curve.
type Series struct {
	// ID identifies the series in the report ("run:DIR", "variant:DIR:NAME", ...).
	ID string `json:"id"`
	// Label is the legend text.
	Label string `json:"label"`
	// Kind is one of the Kind constants.
	Kind string `json:"kind"`
	// Colour is the series' index in the palette, the same in every figure; baselines
	// have -1 and are drawn grey and dashed.
	Colour int `json:"colour"`
	// Spec is the spec's name and SpecHash its hash (empty for baselines).
	Spec     string `json:"spec,omitempty"`
	SpecHash string `json:"spec_hash,omitempty"`
	// Source is the directory the series was read from, or a baseline's citation.
	Source string `json:"source"`
	// Seeds is the number of training seeds the points average (1 for a run).
	Seeds int `json:"seeds,omitempty"`
	// Anytime are the exits: cumulative MACs and top-1.
	Anytime []Point `json:"anytime,omitempty"`
	// Budgeted is the budgeted-batch curve, in order of cost.
	Budgeted []curve.Point `json:"budgeted,omitempty"`
	// Dataset and Protocol describe a baseline; Note qualifies its numbers.
	Dataset  string `json:"dataset,omitempty"`
	Protocol string `json:"protocol,omitempty"`
	Note     string `json:"note,omitempty"`
	// Hypervolume is the area the series' own exits dominate against the report's
	// reference point (Pareto.Reference), in MACs × percentage points; 0 for baselines.
	Hypervolume float64 `json:"hypervolume,omitempty"`
}

// Point is one exit of a series: its cumulative cost and top-1 accuracy.
type Point struct {
	// Exit is the exit number, from 1 (0 for a baseline's unnumbered point).
	Exit int `json:"exit"`
	// MACs is the cumulative cost of reaching the exit, per image.
	MACs float64 `json:"macs"`
	// Top1 is the test top-1 accuracy in percent: the mean over seeds, SD their sample
	// standard deviation (0 for one seed).
	Top1 float64 `json:"top1_percent"`
	SD   float64 `json:"sd,omitempty"`
}

// Curve returns the exit's cost and accuracy.
func (p Point) Curve() curve.Point { return curve.Point{MACs: p.MACs, Top1: p.Top1} }

// curveOf returns the exits' costs and accuracies.
func curveOf(exits []Point) []curve.Point {
	out := make([]curve.Point, len(exits))
	for i, p := range exits {
		out[i] = p.Curve()
	}
	return out
}

// Pareto is the front over every exit of every msdx-trained series, minimising MACs and
// maximising top-1.
type Pareto struct {
	// Reference is the hypervolume's reference point, RefMACs = 1.1 × the largest MACs
	// of any candidate and RefTop1 = 0 %.
	Reference curve.Point `json:"reference"`
	// Hypervolume is the area dominated by the front and bounded by Reference, in
	// MACs × percentage points; Normalised divides it by RefMACs × (100 − RefTop1).
	Hypervolume float64 `json:"hypervolume"`
	Normalised  float64 `json:"hypervolume_normalised"`
	// Points are all candidates: every exit of every series, front members marked.
	Points []ParetoPoint `json:"points"`
}

// ParetoPoint is one candidate of the front.
type ParetoPoint struct {
	// Series is the candidate's Series.ID and Label its legend text.
	Series string `json:"series"`
	Label  string `json:"label"`
	Colour int    `json:"colour"`
	Point
	// Front is true for non-dominated points: no other candidate is at most as costly
	// and at least as accurate, and strictly better in one.
	Front bool `json:"front"`
}

// Ablation is the table and the effects of one ablation study (ablation.json).
type Ablation struct {
	// Study is the study directory.
	Study string `json:"study"`
	// Axes are the factors, each with its levels (baseline first).
	Axes []Axis `json:"axes"`
	// MatchedBudgets are the budgets (MACs) of the matched-cost responses.
	MatchedBudgets []float64 `json:"matched_budgets"`
	// Rows hold one line per variant.
	Rows []AblationRow `json:"rows"`
	// Effects are the main effects and interactions on every response.
	Effects []Effect `json:"effects"`
	// Failed counts the trials that did not finish.
	Failed int `json:"failed,omitempty"`
}

// Axis is a factor and its levels.
type Axis struct {
	Name   string   `json:"name"`
	Levels []string `json:"levels"`
}

// Stat is a mean with a sample standard deviation over N values.
type Stat struct {
	Mean float64 `json:"mean"`
	SD   float64 `json:"sd"`
	N    int     `json:"n"`
}

// AblationRow is one variant in the ablation table.
type AblationRow struct {
	// Series is the variant's Series.ID; Name its labels joined.
	Series string `json:"series"`
	Name   string `json:"name"`
	Colour int    `json:"colour"`
	// Levels are the variant's level of each axis, in axis order.
	Levels []string `json:"levels"`
	// Finished counts the seeds that finished, of Trials.
	Finished int `json:"finished"`
	Trials   int `json:"trials"`
	// LastMACs and LastParams are the cost of the last exit.
	LastMACs   int64 `json:"last_macs"`
	LastParams int64 `json:"last_params"`
	// Responses are the statistics of every response over seeds, in ResponseOrder.
	Responses []Response `json:"responses"`
}

// Response is a named statistic.
type Response struct {
	Name string `json:"name"`
	Stat
}

// Effect is a main effect or an interaction on one response.
type Effect struct {
	// Name says what is compared, e.g. "fusion: dense vs msdnet" or
	// "fusion × stem: dense, paper".
	Name     string   `json:"name"`
	Factors  []string `json:"factors"`
	Levels   []string `json:"levels"`
	Response string   `json:"response"`
	Stat
}

// Parts of a cost breakdown, in stacking order.
const (
	PartStem        = "stem"
	PartBlocks      = "blocks"
	PartTransitions = "transitions"
	PartHeads       = "heads"
)

// Parts lists the parts of a cost breakdown in stacking order.
var Parts = []string{PartStem, PartBlocks, PartTransitions, PartHeads}

// Breakdown is the per-exit cost of one network split by part.
type Breakdown struct {
	// Series are the IDs of the series that share the network; Label the first one's.
	Series []string `json:"series"`
	Label  string   `json:"label"`
	Colour int      `json:"colour"`
	// Spec and SpecHash identify the network.
	Spec     string `json:"spec"`
	SpecHash string `json:"spec_hash"`
	// Exits hold the cumulative MACs of reaching each exit, split by part.
	Exits []ExitParts `json:"exits"`
}

// ExitParts is the cumulative cost of reaching one exit (reference semantics, earlier
// heads included), split by part: their sum is MACs.
type ExitParts struct {
	Exit int   `json:"exit"`
	MACs int64 `json:"macs"`
	// Stem is the first layer: the stem and, in MSDNet-family networks, the strided
	// convs that make the coarser scales.
	Stem int64 `json:"stem"`
	// Blocks are the layers of the backbone other than transitions.
	Blocks int64 `json:"blocks"`
	// Transitions are the 1×1 channel-reducing convs between blocks.
	Transitions int64 `json:"transitions"`
	// Heads are the classifiers executed so far, this exit's included.
	Heads int64 `json:"heads"`
}

// Part returns the MACs of the named part; it panics on an unknown name.
func (e ExitParts) Part(name string) int64 {
	switch name {
	case PartStem:
		return e.Stem
	case PartBlocks:
		return e.Blocks
	case PartTransitions:
		return e.Transitions
	case PartHeads:
		return e.Heads
	}
	panic("report: unknown part " + name)
}
