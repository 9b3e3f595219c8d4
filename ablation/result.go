// Package ablation analyses a factorial study: per variant and exit, cost and accuracy
// over seeds; the main effect of each factor and the interaction of each pair on
// last-exit accuracy, on accuracy at matched cost, and on cost.
//
// Package ablation owns a study's ablation.json, ablation.csv and effects.csv: Save
// writes them, and Load, their only reader, rejects unknown fields as every JSON reader
// of msdx does.
package ablation

import (
	"github.com/msdx/msdx/curve"
	"github.com/msdx/msdx/study"
)

// Responses analysed for effects, as Effect.Response names them.
const (
	// ResponseLastTop1 is the test top-1 (percent) of the last exit.
	ResponseLastTop1 = "last_exit_top1"
	// ResponseAnytimeMatched is the anytime top-1 (percent) at matched cost: the mean,
	// over the study's matched budgets, of the accuracy of the deepest exit whose
	// cumulative cost fits the budget.
	ResponseAnytimeMatched = "anytime_top1_matched"
	// ResponseBudgetedMatched is the budgeted-batch top-1 (percent) at matched cost: the
	// mean, over the matched budgets, of the budgeted curve interpolated linearly in
	// expected MACs per image.
	ResponseBudgetedMatched = "budgeted_top1_matched"
	// ResponseLastMACs is the cost (MACs) of reaching the last exit.
	ResponseLastMACs = "last_exit_macs"
)

// Result is the content of ablation.json.
type Result struct {
	// Study is the study directory analysed.
	Study string `json:"study"`
	// Axes are the factors and their levels, baseline first.
	Axes []Axis `json:"axes"`
	// Seeds are the training seeds of the study.
	Seeds []int64 `json:"seeds"`
	// Match, when the cells were scaled to equal cost, says how; each variant's Scaled
	// holds its knob value.
	Match *study.Match `json:"match,omitempty"`
	// Variants holds one entry per grid cell, in grid order.
	Variants []Variant `json:"variants"`
	// MatchedBudgets are the budgets (MACs per image) at which variants that differ in
	// cost are compared: the exit costs, of any variant, at which every finished trial
	// has both an anytime result (its first exit fits) and a budgeted one (its cheapest
	// setting fits). Above a trial's last exit it keeps that exit's accuracy.
	MatchedBudgets []float64 `json:"matched_budgets"`
	// Effects are the main effects and the pairwise interactions.
	Effects []Effect `json:"effects"`
	// Failed lists the trials that did not finish; their cells are missing seeds.
	Failed []Failed `json:"failed,omitempty"`
}

// Axis is a factor and its level labels.
type Axis struct {
	Name   string   `json:"name"`
	Levels []string `json:"levels"`
}

// Stat is a mean and a sample standard deviation over N values. With fewer than two
// values no standard deviation exists (HasSD): SD is 0 in JSON, and the CSV files leave
// it empty.
type Stat struct {
	Mean float64 `json:"mean"`
	SD   float64 `json:"sd"`
	N    int     `json:"n"`
}

// HasSD reports whether the standard deviation exists: it needs two values or more.
func (s Stat) HasSD() bool { return s.N >= 2 }

// Variant is one cell of the grid, over its seeds.
type Variant struct {
	// Name is the labels joined, e.g. "fusion=dense stem=paper".
	Name   string        `json:"name"`
	Labels []study.Label `json:"labels"`
	// Scaled is the cell's knob value when the study matched costs (nil otherwise).
	Scaled *study.CellMatch `json:"scaled,omitempty"`
	// Trials are the indices of the cell's trials, one per seed; Finished counts those
	// that finished.
	Trials   []int `json:"trials"`
	Finished int   `json:"finished"`
	// Exits are the per-exit cost and test top-1 over seeds.
	Exits []Exit `json:"exits"`
	// Responses maps each response name to its statistic over seeds.
	Responses map[string]Stat `json:"responses"`
	// Budgeted is the mean budgeted-batch curve over seeds (test top-1 against expected
	// MACs per image, reference cost model), in order of cost.
	Budgeted []curve.Point `json:"budgeted"`
}

// Exit is one exit of a variant.
type Exit struct {
	Exit   int   `json:"exit"`
	MACs   int64 `json:"macs"`
	Params int64 `json:"params"`
	Top1   Stat  `json:"top1_percent"`
}

// Effect is a main effect (one factor's level against the baseline level, averaged
// over the other factors) or a two-factor interaction (the difference of differences
// y(a,b) − y(a,b0) − y(a0,b) + y(a0,b0), averaged over the remaining factors), computed
// per seed and summarised over seeds.
type Effect struct {
	// Factors names the factor, or the two factors of an interaction.
	Factors []string `json:"factors"`
	// Levels are the compared levels (one per factor), against the baselines.
	Levels []string `json:"levels"`
	// Response is one of the Response constants.
	Response string `json:"response"`
	Stat
}

// Failed is a trial that did not finish.
type Failed struct {
	Trial  int           `json:"trial"`
	Labels []study.Label `json:"labels"`
	Seed   int64         `json:"seed"`
	// Status is "failed", or "unfinished" when the trial never wrote its status.
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}
