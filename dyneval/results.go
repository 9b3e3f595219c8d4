package dyneval

import "fmt"

// AnytimeExit is the anytime result of one exit: every sample classified at that exit.
type AnytimeExit struct {
	// Exit is the exit's number, from 1.
	Exit int `json:"exit"`
	// Correct1 and Correct5 count the samples whose label is the prediction, or in the top 5.
	Correct1 int `json:"correct_top1"`
	Correct5 int `json:"correct_top5"`
	// Top1 and Top5 are the accuracies in percent.
	Top1 float64 `json:"top1_percent"`
	Top5 float64 `json:"top5_percent"`
	// Cost maps each cost model's name to the cost of this exit.
	Cost map[string]float64 `json:"cost"`
}

// AnytimeResult is the anytime evaluation of a split: the accuracy of every exit with its
// cost.
type AnytimeResult struct {
	// N is the number of samples.
	N int `json:"n"`
	// CostModels lists the cost models' names in the order they were given.
	CostModels []string `json:"cost_models"`
	// Exits holds one entry per exit, in exit order.
	Exits []AnytimeExit `json:"exits"`
}

// Anytime evaluates every exit of s on all samples and pairs its top-1 and top-5 accuracy
// with its cost under each cost model.
func Anytime(s *Split, costs []CostModel) (*AnytimeResult, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if err := checkCostModels(costs, s.NumExits()); err != nil {
		return nil, err
	}
	n := s.NumSamples()
	if n == 0 {
		return nil, fmt.Errorf("dyneval: split has no samples")
	}
	r := &AnytimeResult{N: n, CostModels: costModelNames(costs)}
	for k := range s.NumExits() {
		e := AnytimeExit{Exit: k + 1, Cost: make(map[string]float64, len(costs))}
		for i := range n {
			if s.correct(k, i) {
				e.Correct1++
			}
			if s.InTop5[k][i] {
				e.Correct5++
			}
		}
		e.Top1, e.Top5 = percent(e.Correct1, n), percent(e.Correct5, n)
		for _, m := range costs {
			e.Cost[m.Name] = m.Costs[k]
		}
		r.Exits = append(r.Exits, e)
	}
	return r, nil
}

// BudgetSetting is one budgeted-batch setting: its target distribution, the thresholds
// fitted on the validation split and their outcome on both splits.
type BudgetSetting struct {
	// P is the setting's number, 1..NumBudgetSettings, and Q = P/20 its geometric ratio.
	P int     `json:"p"`
	Q float64 `json:"q"`
	// Target is the exit distribution the thresholds were fitted for.
	Target []float64 `json:"target_distribution"`
	// Quotas holds out_n = floor(n·Target[k]) for every exit, n being the number of
	// validation samples; the last exit's quota is not used.
	Quotas []int `json:"quotas"`
	// Thresholds holds one threshold per exit; NoExit and AcceptAll appear as ±1e8.
	Thresholds Thresholds `json:"thresholds"`
	// Test is the outcome on the test split: the reported result.
	Test Outcome `json:"test"`
	// Validation is the outcome on the split the thresholds were fitted on.
	Validation Outcome `json:"validation"`
}

// BudgetedResult is the budgeted-batch evaluation: one entry per setting, in order of p.
type BudgetedResult struct {
	// NumExits is the number of exits of the network.
	NumExits int `json:"num_exits"`
	// CostModels lists the cost models' names in the order they were given.
	CostModels []string `json:"cost_models"`
	// Settings holds the NumBudgetSettings settings, p = 1..39.
	Settings []BudgetSetting `json:"settings"`
}

// Budgeted runs the budgeted-batch evaluation: for each q = p/20, p = 1..39, it fits
// thresholds on val for the quotas GeometricQuotas(n, p, K) (see FitThresholdsForQuotas),
// n being the number of validation samples, and applies them to test, giving the test accuracy and the expected cost under every cost model. The same
// thresholds thus yield one curve per cost model.
func Budgeted(val, test *Split, costs []CostModel) (*BudgetedResult, error) {
	if err := val.Validate(); err != nil {
		return nil, fmt.Errorf("validation split: %w", err)
	}
	if err := test.Validate(); err != nil {
		return nil, fmt.Errorf("test split: %w", err)
	}
	numExits := test.NumExits()
	if val.NumExits() != numExits {
		return nil, fmt.Errorf("dyneval: validation split has %d exits, test split %d", val.NumExits(), numExits)
	}
	if val.NumSamples() == 0 {
		return nil, fmt.Errorf("dyneval: validation split has no samples")
	}
	if err := checkCostModels(costs, numExits); err != nil {
		return nil, err
	}
	orders := descendingOrders(val)
	r := &BudgetedResult{NumExits: numExits, CostModels: costModelNames(costs)}
	for p := 1; p <= NumBudgetSettings; p++ {
		q := BudgetQ(p)
		quotas := GeometricQuotas(val.NumSamples(), p, numExits)
		t := fitThresholds(val, quotas, orders)
		testOutcome, err := Apply(test, t, costs)
		if err != nil {
			return nil, fmt.Errorf("test split: %w", err)
		}
		valOutcome, err := Apply(val, t, costs)
		if err != nil {
			return nil, fmt.Errorf("validation split: %w", err)
		}
		r.Settings = append(r.Settings, BudgetSetting{
			P: p, Q: q, Target: TargetDistribution(q, numExits), Quotas: quotas, Thresholds: t, Test: testOutcome, Validation: valOutcome,
		})
	}
	return r, nil
}

func costModelNames(costs []CostModel) []string {
	names := make([]string, len(costs))
	for i, m := range costs {
		names[i] = m.Name
	}
	return names
}
