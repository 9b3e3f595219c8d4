package dyneval

import (
	"fmt"
	"math"
	"math/big"
	"slices"
)

const (
	// NoExit is the threshold of an exit that no sample takes: softmax confidences are at
	// most 1. It is the reference's 1e8.
	NoExit = 1e8
	// AcceptAll is the threshold of the last exit, which every remaining sample takes. It is
	// the reference's -1e8.
	AcceptAll = -1e8
)

// NumBudgetSettings is the number of budgeted-batch settings, p = 1..39 with q = p/20.
const NumBudgetSettings = 39

// BudgetQ returns q = p/20, the parameter of budget setting p (1 ≤ p ≤ NumBudgetSettings).
func BudgetQ(p int) float64 { return float64(p) / 20 }

// TargetDistribution returns the geometric exit distribution P_k ∝ q^k, k = 1..numExits,
// normalised to sum to 1: q < 1 favours early exits, q = 1 is uniform, q > 1 favours late
// exits. It panics if q is not positive and finite or numExits < 1.
func TargetDistribution(q float64, numExits int) []float64 {
	if !(q > 0) || math.IsInf(q, 0) || numExits < 1 {
		panic(fmt.Sprintf("dyneval: TargetDistribution(%v, %d)", q, numExits))
	}
	p := make([]float64, numExits)
	sum := 0.0
	for k := range p {
		p[k] = math.Pow(q, float64(k+1))
		sum += p[k]
	}
	for k := range p {
		p[k] /= sum
	}
	return p
}

// Thresholds holds one confidence threshold per exit. A sample takes the first exit whose
// confidence is at least that exit's threshold; the last exit takes every sample. Like the
// confidences, and the reference's threshold tensor, thresholds are float32.
type Thresholds []float32

// Accepts reports whether a sample with confidence conf at exit leaves there, given that it
// reached exit. The last exit accepts every sample, whatever its confidence.
func (t Thresholds) Accepts(exit int, conf float32) bool {
	return exit == len(t)-1 || conf >= t[exit]
}

// ExitOf returns the exit taken by a sample whose confidences, in exit order, are conf: the
// first k with conf[k] ≥ t[k] (ties exit), or the last exit. A real executor may pass only
// the confidences of the exits it has evaluated so far: if none of them accepts, ExitOf
// returns len(conf), meaning the sample goes on to the next exit. ExitOf panics if conf is
// empty or longer than t.
func (t Thresholds) ExitOf(conf []float32) int {
	if len(conf) == 0 || len(conf) > len(t) {
		panic(fmt.Sprintf("dyneval: ExitOf with %d confidences and %d thresholds", len(conf), len(t)))
	}
	for k, c := range conf {
		if t.Accepts(k, c) {
			return k
		}
	}
	return len(conf)
}

// ExitQuotas returns out_n = floor(n·target[k]) for every exit k, computed in float64: the
// number of validation samples that FitThresholds lets leave at each exit.
func ExitQuotas(n int, target []float64) []int {
	quotas := make([]int, len(target))
	for k, p := range target {
		quotas[k] = int(math.Floor(float64(n) * p))
	}
	return quotas
}

// GeometricQuotas returns out_n = floor(n·P_k) for budget setting p, where P is
// TargetDistribution(BudgetQ(p), numExits), computed exactly in integers: with q = p/20,
// P_k = p^k·20^(K−k) / Σ_j p^j·20^(K−j). Floating point can land just below an integer
// n·P_k (n = 9999, K = 4, p = 2 gives 8999.999… for exactly 9000); the reference's float32
// arithmetic errs in both directions in a few such cases. It panics unless n ≥ 0,
// 1 ≤ p ≤ NumBudgetSettings and numExits ≥ 1.
func GeometricQuotas(n, p, numExits int) []int {
	if n < 0 || p < 1 || p > NumBudgetSettings || numExits < 1 {
		panic(fmt.Sprintf("dyneval: GeometricQuotas(%d, %d, %d)", n, p, numExits))
	}
	bp, b20 := big.NewInt(int64(p)), big.NewInt(20)
	weights := make([]*big.Int, numExits)
	den := new(big.Int)
	for k := range numExits {
		w := new(big.Int).Exp(bp, big.NewInt(int64(k+1)), nil)
		w.Mul(w, new(big.Int).Exp(b20, big.NewInt(int64(numExits-k-1)), nil))
		weights[k] = w
		den.Add(den, w)
	}
	quotas := make([]int, numExits)
	for k, w := range weights {
		num := new(big.Int).Mul(w, big.NewInt(int64(n)))
		quotas[k] = int(num.Quo(num, den).Int64())
	}
	return quotas
}

// FitThresholds fits thresholds on the validation split val for the target exit
// distribution target (one probability per exit); it is FitThresholdsForQuotas with
// ExitQuotas(n, target).
func FitThresholds(val *Split, target []float64) Thresholds {
	return fitThresholds(val, ExitQuotas(val.NumSamples(), target), descendingOrders(val))
}

// FitThresholdsForQuotas fits thresholds on the validation split val, following
// adaptive_inference.py, where quotas[k] is out_n of exit k. For every exit k but the last,
// in order:
//
//   - walk the samples in descending exit-k confidence, counting only those not yet marked
//     as exited; the threshold is the confidence of the out_n-th of them;
//   - if out_n = 0 or fewer than out_n unmarked samples remain, the threshold is NoExit;
//   - mark every sample whose exit-k confidence is at least the threshold.
//
// The last threshold is AcceptAll, whatever the last quota. The result depends only on
// confidences, not on the order of tied samples. It panics if val is malformed or quotas
// does not have one entry per exit.
func FitThresholdsForQuotas(val *Split, quotas []int) Thresholds {
	return fitThresholds(val, quotas, descendingOrders(val))
}

// descendingOrders returns, for every exit, the sample indices in descending confidence.
func descendingOrders(s *Split) [][]int {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	orders := make([][]int, s.NumExits())
	for k, conf := range s.Confidence {
		order := make([]int, len(conf))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int {
			// Descending; stability keeps tied samples in index order.
			switch {
			case conf[a] > conf[b]:
				return -1
			case conf[a] < conf[b]:
				return 1
			}
			return 0
		})
		orders[k] = order
	}
	return orders
}

func fitThresholds(val *Split, quotas []int, orders [][]int) Thresholds {
	numExits, n := val.NumExits(), val.NumSamples()
	if len(quotas) != numExits {
		panic(fmt.Sprintf("dyneval: %d exit quotas for %d exits", len(quotas), numExits))
	}
	t := make(Thresholds, numExits)
	marked := make([]bool, n)
	for k := range numExits - 1 {
		t[k] = NoExit
		if outN := quotas[k]; outN > 0 {
			count := 0
			for _, i := range orders[k] {
				if marked[i] {
					continue
				}
				count++
				if count == outN {
					t[k] = val.Confidence[k][i]
					break
				}
			}
		}
		for i, c := range val.Confidence[k] {
			if c >= t[k] {
				marked[i] = true
			}
		}
	}
	t[numExits-1] = AcceptAll
	return t
}

// ExitsTaken returns, for every sample of s, the exit it takes under t (see ExitOf).
// It panics if s is malformed or t does not have one threshold per exit.
func ExitsTaken(s *Split, t Thresholds) []int {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	if len(t) != s.NumExits() {
		panic(fmt.Sprintf("dyneval: %d thresholds for %d exits", len(t), s.NumExits()))
	}
	exits := make([]int, s.NumSamples())
	conf := make([]float32, s.NumExits())
	for i := range exits {
		for k := range conf {
			conf[k] = s.Confidence[k][i]
		}
		exits[i] = t.ExitOf(conf)
	}
	return exits
}

// CostModel names a per-exit cost vector: Costs[k] is what a sample that leaves at exit k
// costs, for instance the cumulative MACs including earlier heads (the reference), or the
// MACs of the exit's dependency cone.
type CostModel struct {
	Name  string
	Costs []float64
}

// Outcome is the result of classifying a split with fixed thresholds.
type Outcome struct {
	// N is the number of samples.
	N int `json:"n"`
	// ExitCounts[k] is the number of samples that left at exit k (index 0 is exit 1).
	ExitCounts []int `json:"exit_counts"`
	// Correct is the number of samples whose prediction at their exit is the label.
	Correct int `json:"correct"`
	// Top1 is 100·Correct/N, in percent.
	Top1 float64 `json:"top1_percent"`
	// ExpectedCost maps each cost model's name to Σ_k (ExitCounts[k]/N)·Costs[k].
	ExpectedCost map[string]float64 `json:"expected_cost"`
}

// Apply classifies every sample of s at the exit it takes under t and returns the counts,
// the top-1 accuracy and the expected cost under each cost model.
func Apply(s *Split, t Thresholds, costs []CostModel) (Outcome, error) {
	if err := s.Validate(); err != nil {
		return Outcome{}, err
	}
	if err := checkCostModels(costs, s.NumExits()); err != nil {
		return Outcome{}, err
	}
	if s.NumSamples() == 0 {
		return Outcome{}, fmt.Errorf("dyneval: split has no samples")
	}
	if len(t) != s.NumExits() {
		return Outcome{}, fmt.Errorf("dyneval: %d thresholds for %d exits", len(t), s.NumExits())
	}
	o := Outcome{N: s.NumSamples(), ExitCounts: make([]int, s.NumExits())}
	for i, k := range ExitsTaken(s, t) {
		o.ExitCounts[k]++
		if s.correct(k, i) {
			o.Correct++
		}
	}
	o.Top1 = percent(o.Correct, o.N)
	o.ExpectedCost = make(map[string]float64, len(costs))
	for _, m := range costs {
		o.ExpectedCost[m.Name] = ExpectedCost(o.ExitCounts, m.Costs)
	}
	return o, nil
}

// ExpectedCost returns Σ_k (counts[k]/n)·costs[k] with n = Σ_k counts[k]: the mean cost per
// sample when counts[k] samples leave at exit k. It returns 0 when n is 0 and panics if the
// lengths differ.
func ExpectedCost(counts []int, costs []float64) float64 {
	if len(counts) != len(costs) {
		panic(fmt.Sprintf("dyneval: %d exit counts for %d costs", len(counts), len(costs)))
	}
	n := 0
	for _, c := range counts {
		n += c
	}
	if n == 0 {
		return 0
	}
	sum := 0.0
	for k, c := range counts {
		sum += float64(c) / float64(n) * costs[k]
	}
	return sum
}

func percent(correct, n int) float64 { return 100 * float64(correct) / float64(n) }

// checkCostModels reports whether costs are usable names and vectors for numExits exits.
// Names become CSV column suffixes, so they are restricted to a plain alphabet.
func checkCostModels(costs []CostModel, numExits int) error {
	seen := make(map[string]bool, len(costs))
	for _, m := range costs {
		if !plainName(m.Name) {
			return fmt.Errorf("dyneval: cost model name %q must be non-empty letters, digits, '_', '-' or '.'", m.Name)
		}
		if seen[m.Name] {
			return fmt.Errorf("dyneval: cost model %q given twice", m.Name)
		}
		seen[m.Name] = true
		if len(m.Costs) != numExits {
			return fmt.Errorf("dyneval: cost model %q has %d costs for %d exits", m.Name, len(m.Costs), numExits)
		}
		for k, c := range m.Costs {
			if math.IsNaN(c) || math.IsInf(c, 0) || c < 0 {
				return fmt.Errorf("dyneval: cost model %q: exit %d costs %v", m.Name, k+1, c)
			}
		}
	}
	return nil
}

func plainName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '_', r == '-', r == '.':
		default:
			return false
		}
	}
	return true
}

// CostsFromInt64 converts an integer cost vector (such as exact MAC counts) to float64.
func CostsFromInt64(costs []int64) []float64 {
	f := make([]float64, len(costs))
	for k, c := range costs {
		f[k] = float64(c)
	}
	return f
}
