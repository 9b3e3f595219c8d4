// Package study lays out a study directory: a set of training trials (the cells of an
// ablation grid, or the candidates of a search) that share a base spec, a recipe and a
// dataset, run by any executor and resumed by rerunning the same command.
//
// A study directory holds
//
//	study.toml      the study: base spec, axes, recipe, data, seeds, msdx version
//	base.toml       the resolved base spec (canonical TOML)
//	recipe.toml     the resolved recipe (canonical TOML)
//	journal.jsonl   append-only events, written by the one coordinator only
//	ablation.json   an ablation's table (with ablation.csv, effects.csv; package ablation)
//	search.json     a search's trials, front and hypervolume (package search)
//	trials/NNNN/    one directory per trial, NNNN its zero-padded index:
//	    trial.json    what the trial is (written by the coordinator before it runs)
//	    spec.toml     its resolved spec
//	    cost.json     its analytic per-exit cost
//	    run/          its training run directory (see package train), with run/eval/
//	    worker.log    the worker's output
//	    status.json   how it ended, written atomically by the worker at the end
//
// Workers ("msdx trial run") write only inside their own trial directory, so a shared
// filesystem is all a cluster needs.
//
// Package study writes and reads study.toml, base.toml, recipe.toml, journal.jsonl and
// the trial files; ablation.json is package ablation's, search.json package search's,
// run/ package train's and run/eval/ package evaluate's. Every reader of msdx's JSON and
// TOML files follows one rule: unknown fields are an error (a file is read only by an
// msdx that knows all of it), and files with a format number (study.toml, run.json) also
// refuse other formats.
package study

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/msdx/msdx/internal/atomicfile"
	"github.com/msdx/msdx/internal/jsonfile"
)

// Format is the study directory format written by this version.
const Format = 1

// File and directory names inside a study directory.
const (
	ConfigFile   = "study.toml"
	BaseFile     = "base.toml"
	RecipeFile   = "recipe.toml"
	JournalFile  = "journal.jsonl"
	TrialsDir    = "trials"
	TrialFile    = "trial.json"
	SpecFile     = "spec.toml"
	CostFile     = "cost.json"
	RunDir       = "run"
	WorkerLog    = "worker.log"
	StatusFile   = "status.json"
	AblationJSON = "ablation.json"
	AblationCSV  = "ablation.csv"
	EffectsCSV   = "effects.csv"
)

// Study kinds recorded in Config.Kind.
const (
	KindAblation = "ablation"
	KindSearch   = "search"
)

// Config is the content of study.toml.
type Config struct {
	Format int `toml:"format"`
	// Kind is KindAblation or KindSearch.
	Kind string `toml:"kind"`
	// Version is the msdx version that created the study.
	Version string    `toml:"msdx_version"`
	Created time.Time `toml:"created"`
	// Base is the base spec as named on the command line; BaseHash is the hash of the
	// resolved spec in base.toml (spec.Spec.Hash).
	Base     string `toml:"base"`
	BaseHash string `toml:"base_hash"`
	// Recipe is the recipe as named on the command line; RecipeHash is RecipeHash of
	// the resolved recipe in recipe.toml, before any per-trial seed.
	Recipe     string `toml:"recipe"`
	RecipeHash string `toml:"recipe_hash"`
	// Data is the dataset reference (KIND:PATH) and Fingerprint its content hash.
	Data        string `toml:"data"`
	Fingerprint string `toml:"fingerprint"`
	// Seeds are the training seeds; every grid cell is trained once per seed.
	Seeds []int64 `toml:"seeds"`
	// Threads is the number of kernel threads of each trial.
	Threads int `toml:"threads"`
	// Axes are the factors of an ablation, in the order given (empty for a search).
	Axes []Axis `toml:"axes"`
	// Match, when not nil, says how an ablation's cells were scaled to equal cost
	// ("msdx ablate --match-cost"); each cell's trials carry its knob override.
	Match *Match `toml:"match,omitempty"`
	// Executor holds the executor settings the study was last run with.
	Executor ExecutorConfig `toml:"executor"`
}

// Axis is one factor of a factorial study.
type Axis struct {
	// Name is the factor's name ("fusion", "stem", or a spec field path).
	Name string `toml:"name"`
	// Levels are its values; the first is the baseline of the effects.
	Levels []Level `toml:"levels"`
}

// Level is one value of an axis: a label and the spec overrides that make it.
type Level struct {
	Label string   `toml:"label"`
	Sets  []string `toml:"sets"`
}

// Match records how the cells of an ablation were scaled to the cost of its baseline
// cell (every axis at its first level), one integer knob per study (see package
// costmatch).
type Match struct {
	// Knob is the spec field scaled ("channels"); Measure is the matched cost,
	// "last-exit" or "curve" (the mean over exits), in MACs.
	Knob    string `toml:"knob" json:"knob"`
	Measure string `toml:"measure" json:"measure"`
	// Target is the baseline cell's measure, which every cell was scaled to.
	Target float64 `toml:"target" json:"target"`
	// Tolerance is the relative gap within which a cell counts as matched.
	Tolerance float64 `toml:"tolerance" json:"tolerance"`
	// Cells holds one entry per grid cell, in grid order.
	Cells []CellMatch `toml:"cells" json:"cells"`
}

// CellMatch is the knob value chosen for one grid cell.
type CellMatch struct {
	// Cell names the cell ("fusion=dense stem=paper").
	Cell string `toml:"cell" json:"cell"`
	// From is the knob's value before scaling and Value the value chosen.
	From  int `toml:"from" json:"from"`
	Value int `toml:"value" json:"value"`
	// Cost is the cell's measure at Value and Gap its relative gap to the target.
	Cost float64 `toml:"cost" json:"cost"`
	Gap  float64 `toml:"gap" json:"gap"`
	// Within says whether the gap is within the tolerance; a cell outside it was
	// scaled to the nearest value the knob allows.
	Within bool `toml:"within" json:"within"`
}

// Set returns the override that scales the cell: "knob=value".
func (m *Match) Set(cell int) string {
	return m.Knob + "=" + strconv.Itoa(m.Cells[cell].Value)
}

// ExecutorConfig are the executor settings of a study.
type ExecutorConfig struct {
	// Kind is "local" or "slurm".
	Kind string `toml:"kind"`
	// Jobs is how many trials run at once.
	Jobs int `toml:"jobs"`
	// Slurm settings; empty means the cluster's default.
	Partition string `toml:"partition,omitempty"`
	Time      string `toml:"time,omitempty"`
	Memory    string `toml:"memory,omitempty"`
	CPUs      int    `toml:"cpus,omitempty"`
}

// Label is the value of one axis in a trial.
type Label struct {
	Axis  string `json:"axis"`
	Value string `json:"value"`
}

// Key identifies what a trial computes: a finished trial whose status carries the
// same key is not run again.
type Key struct {
	SpecHash    string `json:"spec_hash"`
	RecipeHash  string `json:"recipe_hash"`
	Fingerprint string `json:"fingerprint"`
	Seed        int64  `json:"seed"`
}

// Trial is the content of trials/NNNN/trial.json.
type Trial struct {
	Index int `json:"index"`
	// Labels are the trial's axis values (an ablation), in axis order.
	Labels []Label `json:"labels,omitempty"`
	// Sets are the spec overrides applied to the base spec.
	Sets []string `json:"sets"`
	// RecipeSets are recipe overrides ("path=value") applied to recipe.toml before the
	// seed; Epochs, when positive, then overrides the recipe's epochs.
	RecipeSets []string `json:"recipe_sets,omitempty"`
	Epochs     int      `json:"epochs,omitempty"`
	// Key identifies what the trial computes; Key.RecipeHash is the hash of the trial's
	// fully resolved recipe (see TrialRecipe).
	Key Key `json:"key"`
}

// Trial statuses recorded in Status.Status.
const (
	StatusFinished = "finished"
	StatusFailed   = "failed"
)

// Status is the content of trials/NNNN/status.json, written by the worker when it ends.
type Status struct {
	Key    Key    `json:"key"`
	Status string `json:"status"`
	// Reason says why a failed trial failed.
	Reason  string    `json:"reason,omitempty"`
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended"`
	// Seconds is the worker's wall time, training and evaluation.
	Seconds float64 `json:"seconds"`
	Host    string  `json:"host"`
	PID     int     `json:"pid"`
	Threads int     `json:"threads"`
	// Exits are the test results of the final weights, one per exit (finished trials).
	Exits []ExitResult `json:"exits,omitempty"`
}

// ExitResult is one exit of a finished trial.
type ExitResult struct {
	Exit int `json:"exit"`
	// MACs and Params are the analytic cost of reaching the exit (reference semantics).
	MACs   int64 `json:"macs"`
	Params int64 `json:"params"`
	// Top1 is the test top-1 accuracy in percent.
	Top1 float64 `json:"top1_percent"`
}

// Dir is a study directory.
type Dir string

// Path returns the path of name inside the study directory.
func (d Dir) Path(name ...string) string {
	return filepath.Join(append([]string{string(d)}, name...)...)
}

// TrialID returns the directory name of trial index.
func TrialID(index int) string { return fmt.Sprintf("%04d", index) }

// TrialPath returns the path of name inside trial index's directory.
func (d Dir) TrialPath(index int, name ...string) string {
	return d.Path(append([]string{TrialsDir, TrialID(index)}, name...)...)
}

// ReadConfig reads study.toml.
func (d Dir) ReadConfig() (*Config, error) {
	var c Config
	md, err := toml.DecodeFile(d.Path(ConfigFile), &c)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s is not a study directory: it has no %s", d, ConfigFile)
		}
		return nil, fmt.Errorf("%s: %w", d.Path(ConfigFile), err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("%s: unknown field %s", d.Path(ConfigFile), und[0])
	}
	if c.Format != Format {
		return nil, fmt.Errorf("%s: format %d, this msdx reads format %d", d.Path(ConfigFile), c.Format, Format)
	}
	return &c, nil
}

// WriteConfig writes study.toml atomically.
func (d Dir) WriteConfig(c *Config) error {
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(c); err != nil {
		return err
	}
	return atomicfile.WriteFile(d.Path(ConfigFile), b.Bytes(), 0o644)
}

// ReadTrial reads trial index's trial.json.
func (d Dir) ReadTrial(index int) (*Trial, error) {
	var t Trial
	if err := jsonfile.Read(d.TrialPath(index, TrialFile), &t); err != nil {
		return nil, err
	}
	if t.Index != index {
		return nil, fmt.Errorf("%s: index %d, want %d", d.TrialPath(index, TrialFile), t.Index, index)
	}
	return &t, nil
}

// WriteTrial writes t's trial.json atomically, creating its directory.
func (d Dir) WriteTrial(t *Trial) error {
	if err := os.MkdirAll(d.TrialPath(t.Index), 0o755); err != nil {
		return err
	}
	return jsonfile.Write(d.TrialPath(t.Index, TrialFile), t)
}

// ReadStatus reads trial index's status.json; it returns (nil, nil) when the trial has
// none (it never ended).
func (d Dir) ReadStatus(index int) (*Status, error) {
	var s Status
	err := jsonfile.Read(d.TrialPath(index, StatusFile), &s)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// WriteStatus writes trial index's status.json atomically.
func (d Dir) WriteStatus(index int, s *Status) error {
	return jsonfile.Write(d.TrialPath(index, StatusFile), s)
}

// Trials returns the indices of the study's trials, in order.
func (d Dir) Trials() ([]int, error) {
	entries, err := os.ReadDir(d.Path(TrialsDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var idx []int
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil || !e.IsDir() || TrialID(n) != e.Name() {
			continue
		}
		idx = append(idx, n)
	}
	return idx, nil
}

// Done reports whether trial t has finished with its current key.
func (d Dir) Done(t *Trial) (bool, error) {
	s, err := d.ReadStatus(t.Index)
	if err != nil || s == nil {
		return false, err
	}
	return s.Status == StatusFinished && s.Key == t.Key, nil
}

// Event is one line of journal.jsonl.
type Event struct {
	Time time.Time `json:"time"`
	// Event names what happened: "created", "planned", "skipped", "submitted",
	// "finished", "failed", "cancelled", "done".
	Event string `json:"event"`
	Trial *int   `json:"trial,omitempty"`
	// Detail is free text: a reason, a job id, a summary.
	Detail string `json:"detail,omitempty"`
}

// AppendJournal appends events to journal.jsonl. Only the coordinator calls it. Each
// event is one write of one line, so a crash leaves at most a torn last line, which
// ReadJournal ignores.
func (d Dir) AppendJournal(events ...Event) error {
	f, err := os.OpenFile(d.Path(JournalFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	for _, e := range events {
		if e.Time.IsZero() {
			e.Time = time.Now().UTC()
		}
		line, err := json.Marshal(e)
		if err != nil {
			f.Close()
			return err
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	if _, err := f.Write(b.Bytes()); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadJournal reads journal.jsonl. A line that is not JSON is a write torn by a crash and
// is skipped (later appends may follow it); a JSON line that is not an Event, such as one
// with an unknown field, is an error.
func (d Dir) ReadJournal() ([]Event, error) {
	f, err := os.Open(d.Path(JournalFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		if !json.Valid(sc.Bytes()) {
			continue
		}
		var e Event
		if err := jsonfile.Decode(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", d.Path(JournalFile), line, err)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// SafeName replaces every character of name but ASCII letters, digits, '-', '_' and '.'
// with '_', for directory and job names made from spec or study names.
func SafeName(name string) string {
	out := []rune(name)
	for i, r := range out {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			out[i] = '_'
		}
	}
	return string(out)
}

// RecipeHash returns the hash of a canonical recipe encoding.
func RecipeHash(canonical []byte) string {
	h := sha256.Sum256(canonical)
	return hex.EncodeToString(h[:])
}
