package train

import (
	"encoding/json"
	"fmt"

	"github.com/msdx/msdx/internal/jsonfile"
	"github.com/msdx/msdx/nn"
	"github.com/msdx/msdx/optim"
	"github.com/msdx/msdx/tensorfile"
)

// optimPrefix starts the names of the optimizer tensors a checkpoint adds to the
// network's: "optimizer.momentum.<param name>".
const optimPrefix = "optimizer."

// stateKey is the checkpoint metadata key holding the position as JSON.
const stateKey = "msdx.train_state"

// position is where a run stands, saved with each checkpoint: everything besides
// weights and optimizer state that the rest of the run depends on.
type position struct {
	// Epoch is the 0-based epoch in progress and Batch its next batch; a checkpoint
	// written at the end of epoch e has Epoch e+1 and Batch 0.
	Epoch int `json:"epoch"`
	Batch int `json:"batch"`
	// Sums are the training metrics of the partial epoch, so that its line in
	// metrics.jsonl does not depend on interruptions.
	Sums sums `json:"sums"`
	// Seconds is the wall time spent in the partial epoch.
	Seconds float64 `json:"seconds"`
	// BestTop1 is the best validation top-1 of the last exit so far, reached at epoch
	// BestEpoch (1-based; 0 when no epoch has been validated).
	BestTop1  float64 `json:"best_top1"`
	BestEpoch int     `json:"best_epoch"`
	// SpecHash guards against loading a checkpoint into another network.
	SpecHash string `json:"spec_hash"`
}

// saveCheckpoint writes the network, the optimizer state and pos to name atomically.
func saveCheckpoint(name string, net *nn.Network, opt *optim.SGD, pos position) error {
	state, err := json.Marshal(pos)
	if err != nil {
		return err
	}
	st := opt.State()
	f := net.Weights(map[string]string{stateKey: string(state), "optimizer.steps": fmt.Sprint(st.Steps)})
	for i, name := range st.Names {
		if st.Momentum != nil {
			buf := st.Momentum[i]
			f.Tensors = append(f.Tensors, tensorfile.NewFloat32(optimPrefix+"momentum."+name, []int{len(buf)}, buf))
		}
	}
	f.Tensors = append(f.Tensors, tensorfile.NewInt64(optimPrefix+"steps", nil, []int64{st.Steps}))
	return tensorfile.WriteFile(name, f)
}

// loadCheckpoint restores the network and optimizer from name and returns the position.
func loadCheckpoint(name string, net *nn.Network, opt *optim.SGD) (position, error) {
	var pos position
	f, err := tensorfile.ReadFile(name)
	if err != nil {
		return pos, err
	}
	if err := jsonfile.Decode([]byte(f.Metadata[stateKey]), &pos); err != nil {
		return pos, fmt.Errorf("%s: not a training checkpoint: metadata %q: %v", name, stateKey, err)
	}
	if err := net.SetWeights(weightsOnly(f), name); err != nil {
		return pos, err
	}
	st := opt.State()
	steps := f.Lookup(optimPrefix + "steps")
	if steps == nil || steps.DType != tensorfile.Int64 || len(steps.I64) != 1 {
		return pos, fmt.Errorf("%s: no optimizer step count %q", name, optimPrefix+"steps")
	}
	st.Steps = steps.I64[0]
	for i, pname := range st.Names {
		if st.Momentum == nil {
			break
		}
		t := f.Lookup(optimPrefix + "momentum." + pname)
		if t == nil || t.DType != tensorfile.Float32 || len(t.F32) != len(st.Momentum[i]) {
			return pos, fmt.Errorf("%s: missing or misshapen momentum buffer of %q", name, pname)
		}
		st.Momentum[i] = t.F32
	}
	if err := opt.SetState(st); err != nil {
		return pos, fmt.Errorf("%s: %v", name, err)
	}
	return pos, nil
}
