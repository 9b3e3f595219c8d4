package flops_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/msdx/msdx/builder"
	"github.com/msdx/msdx/flops"
	"github.com/msdx/msdx/spec"
)

// msdnetArgs mirrors the kalviny MSDNet command-line arguments; zero fields take the
// repository's defaults.
type msdnetArgs struct {
	classes, blocks, step, base, channels, growth int
	stepMode                                      string
	gr, bn                                        []int
	imagenet                                      bool
	prune                                         string
}

func (a msdnetArgs) spec() *spec.Spec {
	s := &spec.Spec{
		Name: "test", Input: [3]int{3, 32, 32}, Classes: a.classes, Activation: "relu",
		Channels: a.channels, Growth: 6, Reduction: 0.5, Bottleneck: true,
		Scales: spec.Scales{GrFactor: []int{1, 2, 4}, BnFactor: []int{1, 2, 4}},
		Blocks: spec.Blocks{Count: a.blocks, Base: a.base, Step: a.step, StepMode: a.stepMode},
		Fusion: spec.Fusion{Rule: spec.RuleMSDNet, Prune: "max"},
		Stem:   spec.Stem{Kind: spec.StemMSDNetCIFAR},
		Head:   spec.Head{Kind: spec.HeadMSDNetCIFAR, Channels: 128},
	}
	if a.growth != 0 {
		s.Growth = a.growth
	}
	if a.gr != nil {
		s.Scales.GrFactor, s.Scales.BnFactor = a.gr, a.bn
	}
	if a.prune != "" {
		s.Fusion.Prune = a.prune
	}
	if a.imagenet {
		s.Input = [3]int{3, 224, 224}
		s.Stem.Kind, s.Head.Kind = spec.StemMSDNetImageNet, spec.HeadMSDNetImageNet
	}
	return s
}

// addad returns the "paper approximation" of Addad et al. (stem, dense fusion, new head,
// GELU) with MSDNet's script arguments.
func (a msdnetArgs) addad() *spec.Spec {
	s := a.spec()
	s.Activation = "gelu"
	s.Fusion.Rule = spec.RuleDense
	s.Stem = spec.Stem{Kind: spec.StemAddadCode, Stride: 1}
	s.Head.Kind = spec.HeadAddad
	return s
}

type ranetArgs struct {
	classes, channels, step int
	stepMode                string
	scales, gr              []int
}

func (a ranetArgs) spec() *spec.Spec {
	return &spec.Spec{
		Name: "test", Input: [3]int{3, 32, 32}, Classes: a.classes, Activation: "relu",
		Channels: a.channels, Growth: 6, Reduction: 0.5, Bottleneck: true,
		Scales: spec.Scales{GrFactor: a.gr, BnFactor: a.gr, Resolution: a.scales},
		Blocks: spec.Blocks{Count: 2, BlockStep: 2, Step: a.step, StepMode: a.stepMode},
		Fusion: spec.Fusion{Rule: spec.RuleRANet, CompressFactor: 0.25},
		Stem:   spec.Stem{Kind: spec.StemMSDNetCIFAR},
		Head:   spec.Head{Kind: spec.HeadMSDNetCIFAR, Channels: 128},
	}
}

// referenceRow is one configuration of architectures.md §4.1 with its exact counts.
type referenceRow struct {
	name               string
	spec               *spec.Spec
	macs, params       []int64
	ownMACs, ownParams []int64 // "backbone up to block k + head k only"; nil if not given
	fvcore             []int64 // nil if not given
}

func referenceRows() []referenceRow {
	c10anytime := msdnetArgs{classes: 10, blocks: 10, stepMode: "even", step: 2, base: 4, channels: 16}
	c100anytime := msdnetArgs{classes: 100, blocks: 7, stepMode: "even", step: 2, base: 4, channels: 16}
	return []referenceRow{
		{
			name: "A_c10_anytime_nb10", spec: c10anytime.spec(),
			macs:      []int64{15128842, 25482772, 37753630, 52015400, 62123570, 74001212, 87648326, 99946064, 110017370, 121563236},
			params:    []int64{422266, 853572, 1346798, 1781396, 2221486, 2723784, 3288290, 3772068, 4273550, 4839544},
			ownMACs:   []int64{15128842, 21939466, 29782282, 38731274, 45222410, 52598282, 60858890, 66885386, 72897290, 79499018},
			ownParams: []int64{422266, 519994, 624346, 614774, 716678, 825494, 941222, 920926, 1056574, 1201438},
			fvcore:    []int64{15300864, 25727488, 38071040, 52404736, 62554880, 74474496, 88163584, 100492288, 110580992, 122144256},
		},
		{
			name: "B_c10_budget_nb8", spec: msdnetArgs{classes: 10, blocks: 8, stepMode: "lin_grow", step: 1, base: 1, channels: 16}.spec(),
			macs:      []int64{6848266, 14326804, 27256606, 48402472, 81515570, 112568636, 152840006, 192596048},
			params:    []int64{288094, 626520, 1076558, 1680760, 2335942, 3114624, 4023562, 5217684},
			ownMACs:   []int64{6848266, 12110602, 21939466, 38657290, 65572874, 91681802, 124354826, 157839626},
			ownParams: []int64{288094, 375886, 519994, 735322, 891038, 1248590, 1570510, 2260558},
			fvcore:    []int64{6914304, 14465536, 27503360, 48792576, 82077440, 113252352, 153634560, 193454080},
		},
		{
			name: "C_c100_anytime_nb7", spec: c100anytime.spec(),
			macs:      []int64{15140452, 25505992, 37095980, 46331024, 57335540, 66960728, 75937724},
			params:    []int64{433876, 876792, 1274952, 1695548, 2178352, 2603252, 3067960},
			ownMACs:   []int64{15140452, 21951076, 29101412, 35150180, 42083684, 46753124, 52322660},
			ownParams: []int64{433876, 531604, 529280, 627728, 733088, 725248, 853984},
			fvcore:    []int64{15312384, 25750528, 37407744, 46684672, 57731072, 67384832, 76379136},
		},
		{
			name: "D_c100_budget_nb5", spec: msdnetArgs{classes: 100, blocks: 5, stepMode: "lin_grow", step: 1, base: 1, channels: 16}.spec(),
			macs:      []int64{6859876, 14350024, 27536684, 41714576, 58480628},
			params:    []int64{299704, 649740, 1018308, 1492424, 2078924},
			ownMACs:   []int64{6859876, 12122212, 22196324, 33851492, 46325348},
			ownParams: []int64{299704, 387496, 438524, 631964, 827196},
			fvcore:    []int64{6925824, 14488576, 27790848, 42050560, 58867200},
		},
		{
			name: "E1_nb5_even2_base4", spec: msdnetArgs{classes: 10, blocks: 5, stepMode: "even", step: 2, base: 4, channels: 16}.spec(),
			macs:      []int64{15128842, 24318740, 32657438, 39839528, 47698994},
			params:    []int64{422266, 763648, 1141530, 1488276, 1892990},
			ownMACs:   []int64{15128842, 20775434, 26381834, 29946890, 35074058},
			ownParams: []int64{422266, 430070, 525062, 533622, 655446},
			fvcore:    []int64{15300864, 24553472, 32934144, 40142336, 48019200},
		},
		{
			name: "E5_nb4_lin1_base4", spec: msdnetArgs{classes: 10, blocks: 4, stepMode: "lin_grow", step: 1, base: 4, channels: 16}.spec(),
			macs:      []int64{15128842, 25728020, 36648734, 50538536},
			params:    []int64{422266, 760492, 1172046, 1639968},
			ownMACs:   []int64{15128842, 22184714, 30594314, 40645898},
			ownParams: []int64{422266, 426914, 569402, 685314},
			fvcore:    []int64{15300864, 25980416, 36963072, 50908160},
		},
		{
			name: "E7_nb5_even2_gr1-1-1_bn1-1-1", spec: msdnetArgs{classes: 10, blocks: 5, stepMode: "even", step: 2, base: 4, channels: 16, gr: []int{1, 1, 1}, bn: []int{1, 1, 1}}.spec(),
			macs:      []int64{5237514, 7117844, 8822942, 10103720, 11521202},
			params:    []int64{205154, 391690, 590016, 774727, 972297},
			ownMACs:   []int64{5237514, 5786378, 6362762, 6293642, 6582410},
			ownParams: []int64{205154, 196352, 212012, 200233, 215137},
			fvcore:    []int64{5337088, 7237952, 8953920, 10240320, 11661376},
		},
		{
			name: "E15_nb1_base4", spec: msdnetArgs{classes: 10, blocks: 1, stepMode: "even", step: 1, base: 4, channels: 16}.spec(),
			macs: []int64{13788170}, params: []int64{351974},
			ownMACs: []int64{13788170}, ownParams: []int64{351974},
			fvcore: []int64{13054720},
		},
		{
			name:      "F_imagenet_readme_nb5_step4",
			spec:      msdnetArgs{classes: 1000, blocks: 5, stepMode: "even", step: 4, base: 4, channels: 32, growth: 16, gr: []int{1, 2, 4, 4}, bn: []int{1, 2, 4, 4}, imagenet: true}.spec(),
			macs:      []int64{339902824, 685456720, 1008156120, 1254472688, 1360529624},
			params:    []int64{4238504, 8772240, 13073272, 16748416, 23958440},
			ownMACs:   []int64{339902824, 658520424, 954283528, 1177935928, 1267045688},
			ownParams: []int64{4238504, 5731496, 6991784, 8082248, 13322568},
		},
		{
			name: "R1_c10_train_cifar_sh", spec: ranetArgs{classes: 10, channels: 16, step: 4, stepMode: "even", scales: []int{1, 2, 3, 3}, gr: []int{4, 2, 1, 1}}.spec(),
			macs:   []int64{15814410, 31283220, 44655390, 50358312, 60654578, 63647996, 90173958, 94904592},
			params: []int64{470442, 1073780, 1476756, 1868414, 2165612, 2453494, 2871636, 3261830},
			fvcore: []int64{15889664, 31391232, 45481344, 51195520, 63450944, 66449472, 98099712, 102835456},
		},
		{
			name: "R1_c100_train_cifar_sh", spec: ranetArgs{classes: 100, channels: 16, step: 4, stepMode: "even", scales: []int{1, 2, 3, 3}, gr: []int{4, 2, 1, 1}}.spec(),
			macs:   []int64{15826020, 31306440, 44690220, 50404752, 60712628, 63717656, 90255228, 94997472},
			params: []int64{482052, 1097000, 1511586, 1914854, 2223662, 2523154, 2952906, 3354710},
			fvcore: []int64{15901184, 31414272, 45515904, 51241600, 63508544, 66518592, 98180352, 102927616},
		},
		{
			name: "R2_c10_readme_lg", spec: ranetArgs{classes: 10, channels: 16, step: 2, stepMode: "lg", scales: []int{1, 2, 3}, gr: []int{4, 2, 1}}.spec(),
			macs:   []int64{8360714, 21765140, 32844062, 41523752, 53225778, 58921020},
			params: []int64{347050, 876660, 1270165, 1754271, 2130143, 2547601},
			fvcore: []int64{8404224, 21841408, 33383872, 42084032, 55856512, 61563008},
		},
		{
			name: "GS1_seed_noSE_noAttn_c10_nb10", spec: c10anytime.addad(),
			macs:   []int64{4640010, 7203604, 10246430, 13871464, 16355186, 19281276, 22649734, 25850576, 28288218, 31094500},
			params: []int64{293130, 594012, 956814, 1263700, 1573294, 1945096, 2379106, 2755908, 3126318, 3561240},
			fvcore: []int64{4732672, 7314944, 10376448, 14019200, 16513920, 19451008, 22830464, 26038784, 28481280, 31292416},
		},
		{
			name: "GS2_seed_noSE_noAttn_c100_nb7", spec: c100anytime.addad(),
			macs:   []int64{4651620, 7226824, 10192620, 12466768, 15183284, 17724696, 19897468},
			params: []int64{304740, 617232, 887464, 1177564, 1529872, 1845204, 2178840},
			fvcore: []int64{4744192, 7337984, 10320256, 12605312, 15332736, 17880960, 20058496},
		},
		{
			name: "GS5_seed_noSE_noAttn_c10_nb5_even2", spec: msdnetArgs{classes: 10, blocks: 5, stepMode: "even", step: 2, base: 4, channels: 16}.addad(),
			macs:   []int64{4640010, 6997076, 9038430, 10960360, 12845042},
			params: []int64{293130, 506368, 753754, 988340, 1261982},
			fvcore: []int64{4732672, 7105152, 9157504, 11085696, 12975232},
		},
	}
}

func column(exits []flops.ExitCost, sem flops.Semantics, pick func(flops.Totals) int64) []int64 {
	out := make([]int64, len(exits))
	for i, e := range exits {
		out[i] = pick(e.Get(sem))
	}
	return out
}

// TestReferenceCounts checks every configuration of architectures.md §4.1 to the integer.
func TestReferenceCounts(t *testing.T) {
	macs := func(t flops.Totals) int64 { return t.MACs }
	params := func(t flops.Totals) int64 { return t.Params }
	fv := func(t flops.Totals) int64 { return t.FVCore }
	for _, row := range referenceRows() {
		t.Run(row.name, func(t *testing.T) {
			g, err := builder.Build(row.spec)
			if err != nil {
				t.Fatal(err)
			}
			exits := flops.Exits(g)
			check := func(what string, want []int64, sem flops.Semantics, pick func(flops.Totals) int64) {
				if want == nil {
					return
				}
				if diff := cmp.Diff(want, column(exits, sem, pick)); diff != "" {
					t.Errorf("%s per exit (-reference +msdx):\n%s", what, diff)
				}
			}
			check("MACs", row.macs, flops.Execution, macs)
			check("params", row.params, flops.Execution, params)
			check("own-head MACs", row.ownMACs, flops.OwnHead, macs)
			check("own-head params", row.ownParams, flops.OwnHead, params)
			check("fvcore", row.fvcore, flops.Execution, fv)
		})
	}
}

// TestPresetsReproduceRows checks that each reference preset builds the network of the
// architectures.md row it names.
func TestPresetsReproduceRows(t *testing.T) {
	rows := map[string]referenceRow{}
	for _, r := range referenceRows() {
		rows[r.name] = r
	}
	for preset, row := range map[string]string{
		"msdnet-cifar10-anytime":  "A_c10_anytime_nb10",
		"msdnet-cifar10-budget":   "B_c10_budget_nb8",
		"msdnet-cifar100-anytime": "C_c100_anytime_nb7",
		"msdnet-cifar100-budget":  "D_c100_budget_nb5",
		"msdnet-imagenet":         "F_imagenet_readme_nb5_step4",
		"ranet-cifar10":           "R1_c10_train_cifar_sh",
		"ranet-cifar100":          "R1_c100_train_cifar_sh",
		"addad-cifar10":           "GS1_seed_noSE_noAttn_c10_nb10",
		"addad-cifar100":          "GS2_seed_noSE_noAttn_c100_nb7",
	} {
		t.Run(preset, func(t *testing.T) {
			s, err := spec.Preset(preset)
			if err != nil {
				t.Fatal(err)
			}
			g, err := builder.Build(s)
			if err != nil {
				t.Fatal(err)
			}
			exits := flops.Exits(g)
			want := rows[row]
			if diff := cmp.Diff(want.macs, column(exits, flops.Execution, func(t flops.Totals) int64 { return t.MACs })); diff != "" {
				t.Errorf("MACs (-%s +preset):\n%s", row, diff)
			}
			if diff := cmp.Diff(want.params, column(exits, flops.Execution, func(t flops.Totals) int64 { return t.Params })); diff != "" {
				t.Errorf("params (-%s +preset):\n%s", row, diff)
			}
		})
	}
}

// TestPresetsBuild checks that every preset, reference or not, builds.
func TestPresetsBuild(t *testing.T) {
	for _, p := range spec.Presets() {
		s, err := spec.Preset(p.Name)
		if err != nil {
			t.Errorf("%s: %v", p.Name, err)
			continue
		}
		if _, err := builder.Build(s); err != nil {
			t.Errorf("%s: %v", p.Name, err)
		}
	}
}
