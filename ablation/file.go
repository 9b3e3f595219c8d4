package ablation

import (
	"fmt"
	"io"

	"github.com/msdx/msdx/internal/atomicfile"
	"github.com/msdx/msdx/internal/jsonfile"
	"github.com/msdx/msdx/study"
)

// Save writes the result into the study directory, each file atomically: ablation.json
// (study.AblationJSON, the Result), ablation.csv (WriteCSV) and effects.csv
// (WriteEffectsCSV).
func Save(dir study.Dir, res *Result) error {
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{study.AblationJSON, res.WriteJSON},
		{study.AblationCSV, res.WriteCSV},
		{study.EffectsCSV, res.WriteEffectsCSV},
	} {
		if err := atomicfile.Write(dir.Path(f.name), 0o644, f.write); err != nil {
			return fmt.Errorf("writing %s: %w", f.name, err)
		}
	}
	return nil
}

// Load reads the ablation.json that Save wrote in the study directory. Like every JSON
// reader of msdx it rejects unknown fields. An error wraps os.ErrNotExist when the study
// has no ablation.json (not analysed yet).
func Load(dir study.Dir) (*Result, error) {
	var res Result
	if err := jsonfile.Read(dir.Path(study.AblationJSON), &res); err != nil {
		return nil, err
	}
	return &res, nil
}
