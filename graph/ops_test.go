package graph

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTextbookCosts checks each op kind's rules on cases small enough to count by hand.
func TestTextbookCosts(t *testing.T) {
	tests := []struct {
		name   string
		op     Op
		in     []Shape
		out    Shape
		params int64
		cost   Cost
	}{
		{
			// 3x3 conv 4->8, stride 2, padding 1 on 9x9: out 5x5; 4·8·9·25 MACs.
			name: "conv3x3 stride2", op: Op{Kind: Conv, Out: 8, Kernel: 3, Stride: 2, Pad: 1, Groups: 1},
			in: []Shape{{4, 9, 9}}, out: Shape{8, 5, 5}, params: 4 * 8 * 9,
			cost: Cost{MACs: 7200, FVCore: 7200, FLOPs: 14400, Acts: 200},
		},
		{
			// Bias adds params and FLOPs but no reference MACs.
			name: "conv7x7 with bias", op: Op{Kind: Conv, Out: 2, Kernel: 7, Stride: 2, Pad: 3, Groups: 1, Bias: true},
			in: []Shape{{3, 8, 8}}, out: Shape{2, 4, 4}, params: 3*2*49 + 2,
			cost: Cost{MACs: 3 * 2 * 49 * 16, FVCore: 3 * 2 * 49 * 16, FLOPs: 2*3*2*49*16 + 32, Acts: 32},
		},
		{
			name: "grouped conv", op: Op{Kind: Conv, Out: 6, Kernel: 3, Stride: 1, Pad: 1, Groups: 2},
			in: []Shape{{4, 5, 5}}, out: Shape{6, 5, 5}, params: 2 * 6 * 9,
			cost: Cost{MACs: 2 * 9 * 6 * 25, FVCore: 2 * 9 * 6 * 25, FLOPs: 2 * 2 * 9 * 6 * 25, Acts: 150},
		},
		{
			// Depthwise: C·k²·HW.
			name: "depthwise", op: Op{Kind: Conv, Out: 16, Kernel: 3, Stride: 1, Pad: 1, Groups: 16},
			in: []Shape{{16, 4, 4}}, out: Shape{16, 4, 4}, params: 16 * 9,
			cost: Cost{MACs: 16 * 9 * 16, FVCore: 16 * 9 * 16, FLOPs: 2 * 16 * 9 * 16, Acts: 256},
		},
		{
			name: "linear with bias", op: Op{Kind: Linear, Out: 10, Bias: true},
			in: []Shape{{128, 1, 1}}, out: Shape{10, 1, 1}, params: 1290,
			cost: Cost{MACs: 1290, FVCore: 1280, FLOPs: 2570, Acts: 10},
		},
		{
			name: "batch norm", op: Op{Kind: BatchNorm},
			in: []Shape{{8, 4, 4}}, out: Shape{8, 4, 4}, params: 16,
			cost: Cost{FVCore: 256, FLOPs: 256, Acts: 128},
		},
		{
			name: "relu", op: Op{Kind: ReLU}, in: []Shape{{8, 4, 4}}, out: Shape{8, 4, 4},
			cost: Cost{MACs: 128, FLOPs: 128, Acts: 128},
		},
		{
			name: "gelu", op: Op{Kind: GELU}, in: []Shape{{2, 3, 3}}, out: Shape{2, 3, 3},
			cost: Cost{MACs: 18, FLOPs: 18, Acts: 18},
		},
		{
			// F.gelu inside an SE block: no module, so the reference counters see nothing.
			name: "functional gelu", op: Op{Kind: GELU, Functional: true}, in: []Shape{{2, 3, 3}}, out: Shape{2, 3, 3},
			cost: Cost{FLOPs: 18, Acts: 18},
		},
		{
			name: "sigmoid", op: Op{Kind: Sigmoid, Functional: true}, in: []Shape{{4, 1, 1}}, out: Shape{4, 1, 1},
			cost: Cost{FLOPs: 16, Acts: 4},
		},
		{
			name: "channel scale", op: Op{Kind: ChannelScale}, in: []Shape{{4, 3, 3}, {4, 1, 1}}, out: Shape{4, 3, 3},
			cost: Cost{FLOPs: 36, Acts: 36},
		},
		{
			// MSDNet's head pool: AvgPool2d(2) on 128x2x2 costs 128·1·4.
			name: "avgpool 2", op: Op{Kind: AvgPool, Kernel: 2, Stride: 2}, in: []Shape{{128, 2, 2}}, out: Shape{128, 1, 1},
			cost: Cost{MACs: 512, FLOPs: 512, Acts: 128},
		},
		{
			// The ImageNet stem's pool: 3x3, stride 2, padding 1 on 112 gives 56.
			name: "maxpool 3 s2 p1", op: Op{Kind: MaxPool, Kernel: 3, Stride: 2, Pad: 1}, in: []Shape{{32, 112, 112}}, out: Shape{32, 56, 56},
			cost: Cost{MACs: 903168, FLOPs: 903168, Acts: 32 * 56 * 56},
		},
		{
			name: "adaptive avgpool", op: Op{Kind: AdaptiveAvgPool}, in: []Shape{{128, 2, 2}}, out: Shape{128, 1, 1},
			cost: Cost{MACs: 512, FVCore: 512, FLOPs: 512, Acts: 128},
		},
		{
			name: "bilinear upsample", op: Op{Kind: Resize, H: 16, W: 16}, in: []Shape{{4, 8, 8}}, out: Shape{4, 16, 16},
			cost: Cost{FVCore: 4096, FLOPs: 7 * 1024, Acts: 1024},
		},
		{
			// A same-size resize is free to run, but fvcore counts it.
			name: "bilinear same size", op: Op{Kind: Resize, H: 8, W: 8}, in: []Shape{{4, 8, 8}}, out: Shape{4, 8, 8},
			cost: Cost{FVCore: 1024, Acts: 256},
		},
		{
			name: "concat", op: Op{Kind: Concat}, in: []Shape{{4, 8, 8}, {6, 8, 8}}, out: Shape{10, 8, 8},
			cost: Cost{Acts: 640},
		},
		{
			name: "add", op: Op{Kind: Add}, in: []Shape{{4, 8, 8}, {4, 8, 8}}, out: Shape{4, 8, 8},
			cost: Cost{FLOPs: 256, Acts: 256},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuilder("t", Shape{})
			ids := make([]int, len(tt.in))
			for i, s := range tt.in {
				// Inputs are bare nodes of the given shapes, with no cost of their own.
				ids[i] = len(b.g.Nodes)
				b.g.Nodes = append(b.g.Nodes, &Node{ID: ids[i], Name: "in" + string(rune('0'+i)), Out: s})
			}
			id := b.Add("op", tt.op, ids...)
			if err := b.Err(); err != nil {
				t.Fatal(err)
			}
			n := b.g.Nodes[id]
			if diff := cmp.Diff(tt.out, n.Out); diff != "" {
				t.Errorf("shape (-want +got):\n%s", diff)
			}
			if n.Params != tt.params {
				t.Errorf("params = %d, want %d", n.Params, tt.params)
			}
			if diff := cmp.Diff(tt.cost, n.Cost); diff != "" {
				t.Errorf("cost (-want +got):\n%s", diff)
			}
		})
	}
}

func TestShapeErrors(t *testing.T) {
	tests := []struct {
		name string
		op   Op
		in   Shape
		want string
	}{
		{"pool window too big", Op{Kind: AvgPool, Kernel: 2, Stride: 2}, Shape{128, 1, 1}, "does not fit"},
		{"groups do not divide", Op{Kind: Conv, Out: 4, Kernel: 1, Stride: 1, Groups: 3}, Shape{4, 2, 2}, "groups"},
		{"conv too big", Op{Kind: Conv, Out: 4, Kernel: 5, Stride: 1, Groups: 1}, Shape{4, 2, 2}, "does not fit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuilder("t", tt.in)
			b.Add("op", tt.op, Input)
			if err := b.Err(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
			if _, err := b.Finish(); err == nil {
				t.Fatal("Finish succeeded after a shape error")
			}
		})
	}
}

func TestRegisterRequiresCostRules(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Register without a Cost rule did not panic")
		}
	}()
	Register("uncostable", KindDef{Infer: func(Op, []Shape) (Shape, error) { return Shape{}, nil }, Params: noParams})
}

func TestNeededAndCone(t *testing.T) {
	// image -> a -> head1 ; a -> b -> head2 ; a -> dead
	b := NewBuilder("t", Shape{1, 4, 4})
	a := b.Add("a", Op{Kind: ReLU}, Input)
	b.BeginHead()
	h1 := b.Add("h1", Op{Kind: Linear, Out: 2, Bias: true}, a)
	b.EndHead(h1)
	x := b.Add("b", Op{Kind: ReLU}, a)
	dead := b.Add("dead", Op{Kind: BatchNorm}, a)
	b.BeginHead()
	h2 := b.Add("h2", Op{Kind: Linear, Out: 2, Bias: true}, x)
	b.EndHead(h2)
	g, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{a, h1}, g.Cone(1)); diff != "" {
		t.Errorf("cone of exit 1 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{a, x, h2}, g.Cone(2)); diff != "" {
		t.Errorf("cone of exit 2 (-want +got):\n%s", diff)
	}
	if g.Nodes[dead].Needed != 0 || g.Nodes[dead].Cost.FVCore != 0 {
		t.Errorf("dead node: needed %b, fvcore %d; want 0, 0", g.Nodes[dead].Needed, g.Nodes[dead].Cost.FVCore)
	}
	if got := g.Nodes[a].Needed; got != 3 {
		t.Errorf("shared node needed by %b, want 11", got)
	}
}
