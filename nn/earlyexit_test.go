package nn_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/msdx/msdx/graph"
	"github.com/msdx/msdx/kernels"
	"github.com/msdx/msdx/nn"
)

// fullDecisions classifies x with a full Forward and the exit rule applied afterwards: the
// simulated early exit that EarlyExit must reproduce.
func fullDecisions(net *nn.Network, x *kernels.Tensor, accept nn.AcceptFunc) []nn.Decision {
	logits := net.Forward(x, 0)
	n := x.N
	got := make([]nn.Decision, n)
	decided := make([]bool, n)
	for k, l := range logits {
		probs := make([]float32, l.Len())
		kernels.Softmax(probs, l.Data, l.C, n)
		for i := range n {
			if decided[i] {
				continue
			}
			best := 0
			for c := range l.C {
				if probs[c*n+i] > probs[best*n+i] {
					best = c
				}
			}
			conf := probs[best*n+i]
			if k == len(logits)-1 || accept(k, conf) {
				got[i] = nn.Decision{Exit: k, Class: best, Confidence: conf}
				decided[i] = true
			}
		}
	}
	return got
}

// medianThresholds returns, for every exit, the median confidence of x's samples there, so
// that about half of the samples reaching an exit leave at it.
func medianThresholds(net *nn.Network, x *kernels.Tensor) []float32 {
	var th []float32
	for _, l := range net.Forward(x, 0) {
		probs := make([]float32, l.Len())
		kernels.Softmax(probs, l.Data, l.C, l.N)
		conf := make([]float32, l.N)
		for i := range l.N {
			for c := range l.C {
				conf[i] = max(conf[i], probs[c*l.N+i])
			}
		}
		slices.Sort(conf)
		th = append(th, conf[len(conf)/2])
	}
	return th
}

func thresholdRule(th []float32) nn.AcceptFunc {
	return func(k int, conf float32) bool { return conf >= th[k] }
}

func randomInput(net *nn.Network, n int, seed uint64) *kernels.Tensor {
	in := net.Graph().Input
	x := kernels.NewTensor(in.C, n, in.H, in.W)
	rng := rand.New(rand.NewPCG(seed, 3))
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	return x
}

// roughlyTrain takes a few SGD steps on random labels, so that batch-norm statistics and
// confidences are no longer those of a fresh network.
func roughlyTrain(t *testing.T, net *nn.Network, steps int) {
	t.Helper()
	net.SetTrain(true)
	rng := rand.New(rand.NewPCG(7, 7))
	for s := range steps {
		x := randomInput(net, 8, uint64(100+s))
		labels := make([]int, x.N)
		for i := range labels {
			labels[i] = rng.IntN(4)
		}
		logits := net.Forward(x, 0)
		var d []*kernels.Tensor
		for _, l := range logits {
			g := kernels.NewTensor(l.C, l.N, 1, 1)
			kernels.SoftmaxCrossEntropy(g.Data, l.Data, l.C, l.N, labels, nil, 0)
			d = append(d, g)
		}
		net.ZeroGrad()
		net.Backward(d)
		for _, p := range net.Params() {
			for i := range p.Data {
				p.Data[i] -= 0.05 * p.Grad[i]
			}
		}
	}
	net.SetTrain(false)
}

// unionCost returns the MACs per sample of the nodes exits 1..k need: what a sample leaving
// at exit k costs under early exit, computed from the graph alone.
func unionCost(g *graph.Graph, k int) int64 {
	mask := graph.ExitSet(1)<<k - 1
	var macs int64
	for _, nd := range g.Nodes {
		if nd.Needed&mask != 0 {
			macs += nd.Cost.MACs
		}
	}
	return macs
}

func TestEarlyExitMatchesForward(t *testing.T) {
	for _, c := range goldenCases {
		for _, trained := range []bool{false, true} {
			name := c.name
			if trained {
				name += "/trained"
			}
			t.Run(name, func(t *testing.T) {
				_, g, net := c.build(t)
				if trained {
					roughlyTrain(t, net, 4)
				}
				x := randomInput(net, 13, 1)
				th := medianThresholds(net, x)
				rules := map[string]nn.AcceptFunc{
					"median":     thresholdRule(th),
					"all-first":  func(int, float32) bool { return true },
					"all-last":   func(int, float32) bool { return false },
					"exit-2-too": func(k int, conf float32) bool { return k == 1 || conf >= th[k] },
				}
				ee := nn.NewEarlyExit(net)
				for rname, rule := range rules {
					want := fullDecisions(net, x, rule)
					ee.ResetMACs()
					got := ee.Run(x, rule, nil)
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("%s: early exit differs from a full forward (-want +got):\n%s", rname, diff)
					}
					var macs int64
					for _, d := range want {
						macs += unionCost(g, d.Exit+1)
					}
					if ee.MACs() != macs {
						t.Errorf("%s: executed %d MACs, want %d", rname, ee.MACs(), macs)
					}
				}
				// Single images, and a reused executor and destination.
				dst := make([]nn.Decision, 0, 1)
				want := fullDecisions(net, x, rules["median"])
				for i := range x.N {
					xi := sample(x, i)
					dst = ee.Run(xi, rules["median"], dst)
					if diff := cmp.Diff(want[i:i+1], dst); diff != "" {
						t.Errorf("image %d alone (-want +got):\n%s", i, diff)
					}
				}
			})
		}
	}
}

// TestEarlyExitSpreads checks that the median rule really sends samples to several exits,
// so that the comparison above exercises the gathering of activations.
func TestEarlyExitSpreads(t *testing.T) {
	_, _, net := goldenCases[0].build(t)
	x := randomInput(net, 13, 1)
	got := nn.NewEarlyExit(net).Run(x, thresholdRule(medianThresholds(net, x)), nil)
	exits := map[int]int{}
	for _, d := range got {
		exits[d.Exit]++
	}
	if len(exits) < 2 {
		t.Errorf("samples left at exits %v; want at least two distinct exits", exits)
	}
}

func TestEarlyExitMACs(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			_, g, net := c.build(t)
			var sum int64
			for k, m := range nn.NewEarlyExit(net).ExitMACs() {
				sum += m
				if want := unionCost(g, k+1); sum != want {
					t.Errorf("exit %d: cumulative early-exit MACs %d, want %d", k+1, sum, want)
				}
			}
		})
	}
}

func TestEarlyExitPanicsInTraining(t *testing.T) {
	_, _, net := goldenCases[0].build(t)
	net.SetTrain(true)
	defer func() {
		if recover() == nil {
			t.Error("Run in training mode did not panic")
		}
	}()
	nn.NewEarlyExit(net).Run(randomInput(net, 2, 1), func(int, float32) bool { return true }, nil)
}

// sample returns image i of x as a batch of one.
func sample(x *kernels.Tensor, i int) *kernels.Tensor {
	hw := x.H * x.W
	y := kernels.NewTensor(x.C, 1, x.H, x.W)
	for c := range x.C {
		copy(y.Data[c*hw:(c+1)*hw], x.Data[(c*x.N+i)*hw:(c*x.N+i+1)*hw])
	}
	return y
}

// BenchmarkEarlyExit compares real early exit on msdnet-cifar10-small (batch 128) with
// running every exit on the same executor; "median" lets about half of the images reaching
// each exit leave there. It reports images/s and the MACs executed per image.
func BenchmarkEarlyExit(b *testing.B) {
	net, x, _ := benchNet(b, "msdnet-cifar10-small", 128)
	net.SetTrain(false)
	th := medianThresholds(net, x)
	for _, bc := range []struct {
		name string
		rule nn.AcceptFunc
	}{
		{"all-exits", func(int, float32) bool { return false }},
		{"median", thresholdRule(th)},
		{"all-first", func(int, float32) bool { return true }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ee := nn.NewEarlyExit(net)
			var dst []nn.Decision
			dst = ee.Run(x, bc.rule, dst)
			ee.ResetMACs()
			b.ResetTimer()
			for range b.N {
				dst = ee.Run(x, bc.rule, dst)
			}
			b.ReportMetric(float64(b.N*x.N)/b.Elapsed().Seconds(), "images/s")
			b.ReportMetric(float64(ee.MACs())/float64(b.N*x.N), "MACs/image")
		})
	}
}

// imageReadingNet builds a two-exit network whose second exit reads the image again (no
// preset does), so that the executor must gather the remaining images too.
func imageReadingNet(t *testing.T) *nn.Network {
	t.Helper()
	b := graph.NewBuilder("reads-image", graph.Shape{C: 3, H: 8, W: 8})
	conv := func(out int) graph.Op {
		return graph.Op{Kind: graph.Conv, Out: out, Kernel: 3, Stride: 1, Pad: 1, Groups: 1}
	}
	head := func(in int) int {
		b.BeginHead()
		p := b.Add(fmt.Sprintf("head%d/pool", in), graph.Op{Kind: graph.AdaptiveAvgPool}, in)
		l := b.Add(fmt.Sprintf("head%d/linear", in), graph.Op{Kind: graph.Linear, Out: 5, Bias: true}, p)
		b.EndHead(l)
		return l
	}
	b.At(1, "layer 1")
	c1 := b.Add("block1/conv", conv(4), graph.Input)
	n1 := b.Add("block1/bn", graph.Op{Kind: graph.BatchNorm}, c1)
	r1 := b.Add("block1/relu", graph.Op{Kind: graph.ReLU}, n1)
	head(r1)
	b.At(2, "layer 1")
	c2 := b.Add("block2/conv", conv(4), graph.Input)
	cat := b.Add("block2/concat", graph.Op{Kind: graph.Concat}, r1, c2)
	c3 := b.Add("block2/conv2", conv(6), cat)
	head(c3)
	g, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	net, err := nn.New(g, nn.InitPyTorch, 3)
	if err != nil {
		t.Fatal(err)
	}
	return net
}

// TestEarlyExitGathersImage runs the image-reading network on a batch of one chunk (the
// caller's images gathered) and of two (the chunk's copy gathered), on one and two threads.
func TestEarlyExitGathersImage(t *testing.T) {
	defer kernels.SetThreads(kernels.Threads())
	for _, chunkImages := range []int{16, nn.ChunkImages} {
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("chunk%d/%dthreads", chunkImages, threads), func(t *testing.T) {
				kernels.SetThreads(threads)
				net := imageReadingNet(t)
				nn.SetChunkImages(net, chunkImages)
				x := randomInput(net, 13, 5)
				orig := slices.Clone(x.Data)
				rule := thresholdRule(medianThresholds(net, x))
				want := fullDecisions(net, x, rule)
				got := nn.NewEarlyExit(net).Run(x, rule, nil)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("early exit differs from a full forward (-want +got):\n%s", diff)
				}
				if !slices.Equal(orig, x.Data) {
					t.Error("Run modified its input")
				}
				exits := map[int]bool{}
				for _, d := range got {
					exits[d.Exit] = true
				}
				if len(exits) != 2 {
					t.Errorf("images left at exits %v; want both", exits)
				}
			})
		}
	}
}
