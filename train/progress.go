package train

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Progress is told how a training session goes. Its methods are called from the
// training goroutine, so they should return quickly.
type Progress interface {
	// Batch is called after every training batch.
	Batch(p BatchProgress)
	// Epoch is called after every epoch, with the line written to metrics.jsonl.
	Epoch(m EpochMetrics)
	// Test is called with the test metrics once the run has finished.
	Test(t TestResult)
}

// BatchProgress says where training stands after a batch.
type BatchProgress struct {
	// Epoch (1-based) of Epochs, and Batch (1-based, done) of Batches.
	Epoch, Epochs  int
	Batch, Batches int
	// Exits are the running training metrics of the epoch so far.
	Exits []ExitMetrics
	// LR is the batch's learning rate.
	LR float64
}

// TextProgress reports progress as text: on a terminal a status line redrawn in
// place, with the epoch's progress, an estimate of the time left and the last exit's
// running loss and top-1, cut to the terminal's width; elsewhere one line per epoch.
type TextProgress struct {
	w       io.Writer
	width   int // terminal columns; 0 when w is not a terminal
	start   time.Time
	batches int // batches done in this session
	last    time.Time
	drawn   bool
}

// NewTextProgress returns a TextProgress writing to w. A positive width says that w is
// a terminal that many columns wide, which selects the redrawn status line; 0 says that
// it is not a terminal.
func NewTextProgress(w io.Writer, width int) *TextProgress {
	return &TextProgress{w: w, width: width, start: time.Now()}
}

// Batch redraws the status line on a terminal, at most ten times a second.
func (p *TextProgress) Batch(b BatchProgress) {
	p.batches++
	if p.width <= 0 || time.Since(p.last) < 100*time.Millisecond && b.Batch < b.Batches {
		return
	}
	p.last = time.Now()
	left := (b.Epochs-b.Epoch)*b.Batches + b.Batches - b.Batch
	eta := "?"
	if elapsed := time.Since(p.start); p.batches > 0 {
		eta = formatDuration(time.Duration(float64(elapsed) / float64(p.batches) * float64(left)))
	}
	last := ExitMetrics{}
	if len(b.Exits) > 0 {
		last = b.Exits[len(b.Exits)-1]
	}
	head := fmt.Sprintf("epoch %d/%d ", b.Epoch, b.Epochs)
	tail := fmt.Sprintf("%d/%d  loss %.3f  top-1 %.1f%%  lr %.4g  ETA %s", b.Batch, b.Batches, last.Loss, 100*last.Top1, b.LR, eta)
	io.WriteString(p.w, "\r\x1b[K"+fitLine(head, tail, float64(b.Batch)/float64(max(b.Batches, 1)), p.width))
	p.drawn = true
}

// fitLine returns head, a progress bar filled to the fraction done, and tail, in fewer
// than width columns (writing the last column makes some terminals wrap): the bar
// shrinks from 24 columns and goes when it would be narrower than 6, and the line is cut
// if it still does not fit.
func fitLine(head, tail string, done float64, width int) string {
	const barMax, barMin = 24, 6
	room := width - 1 - len(head) - len(tail) - len("[] ")
	line := head + tail
	if bar := min(barMax, room); bar >= barMin {
		filled := min(bar, max(0, int(float64(bar)*done)))
		line = head + "[" + strings.Repeat("=", filled) + strings.Repeat(" ", bar-filled) + "] " + tail
	}
	if len(line) > width-1 {
		line = line[:max(0, width-1)]
	}
	return line
}

// Epoch prints one line summarising the epoch: the last exit's training loss and
// top-1 and every exit's validation top-1.
func (p *TextProgress) Epoch(m EpochMetrics) {
	p.clear()
	var sb strings.Builder
	fmt.Fprintf(&sb, "epoch %d: lr %.4g", m.Epoch, m.LR)
	if n := len(m.Train); n > 0 {
		fmt.Fprintf(&sb, "  train loss %.4f top-1 %.2f%%", m.Train[n-1].Loss, 100*m.Train[n-1].Top1)
	}
	if len(m.Val) > 0 {
		sb.WriteString("  val top-1 by exit")
		for _, v := range m.Val {
			fmt.Fprintf(&sb, " %.2f", 100*v.Top1)
		}
		sb.WriteString("%")
	}
	fmt.Fprintf(&sb, "  %.0f img/s  %s\n", m.ImagesPerSec, formatDuration(time.Duration(m.WallSeconds*float64(time.Second))))
	io.WriteString(p.w, sb.String())
}

// Test prints the per-exit test top-1 of the final weights.
func (p *TextProgress) Test(t TestResult) {
	p.clear()
	var sb strings.Builder
	fmt.Fprintf(&sb, "test (%d images) top-1 by exit:", t.Images)
	for _, e := range t.Final {
		fmt.Fprintf(&sb, " %.2f", 100*e.Top1)
	}
	sb.WriteString("%\n")
	io.WriteString(p.w, sb.String())
}

func (p *TextProgress) clear() {
	if p.drawn {
		io.WriteString(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

func formatDuration(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%dh%02dm%02ds", h, m, s)
	}
	return fmt.Sprintf("%dm%02ds", m, s)
}
