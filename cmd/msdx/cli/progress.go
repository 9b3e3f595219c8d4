package cli

import (
	"fmt"
	"io"
	"time"
)

// How soon and how often a statusLine shows: steps shorter than statusDelay show nothing;
// on a terminal the line is redrawn at most every statusRedraw, elsewhere a line is
// written at most every statusEvery.
const (
	statusDelay  = 2 * time.Second
	statusRedraw = 100 * time.Millisecond
	statusEvery  = 10 * time.Second
)

// statusLine shows on stderr how a step that may take a while goes ("msdx bench", the
// passes of "msdx eval" and "msdx predict --split"), so that a long command is not silent:
// nothing for its first statusDelay, then on a terminal a line redrawn in place, cut to the
// terminal's width, elsewhere a line now and then.
type statusLine struct {
	w     io.Writer
	width int // columns of the terminal; 0 when w is not a terminal
	now   func() time.Time

	start, last time.Time // when the line was made and last written
	step        string
	stepStart   time.Time // when step began: when the step before it last updated
	updated     time.Time // the last Update, written or not
	drawn       bool
}

// newStatusLine returns a statusLine on ios.ErrOut whose delay starts now.
func newStatusLine(ios *IOStreams) *statusLine {
	return newStatusLineAt(ios, time.Now)
}

func newStatusLineAt(ios *IOStreams, now func() time.Time) *statusLine {
	t := now()
	return &statusLine{w: ios.ErrOut, width: ios.ErrWidth, now: now, start: t, updated: t}
}

// Update says that done of total units (such as "images") of step are done. A new step
// starts its own estimate of the time left.
func (s *statusLine) Update(step string, done, total int, units string) {
	now := s.now()
	if step != s.step {
		s.step, s.stepStart = step, s.updated
	}
	s.updated = now
	if now.Sub(s.start) < statusDelay {
		return
	}
	every := statusEvery
	if s.width > 0 {
		every = statusRedraw
	}
	if !s.last.IsZero() && now.Sub(s.last) < every && done < total {
		return
	}
	s.last = now
	line := fmt.Sprintf("msdx: %s: %d/%d %s", step, done, total, units)
	if done > 0 && done < total {
		left := time.Duration(float64(now.Sub(s.stepStart)) / float64(done) * float64(total-done))
		line += ", ETA " + left.Round(time.Second).String()
	}
	if s.width <= 0 {
		fmt.Fprintln(s.w, line)
		return
	}
	if len(line) > s.width-1 {
		line = line[:max(0, s.width-1)]
	}
	io.WriteString(s.w, "\r\x1b[K"+line)
	s.drawn = true
}

// Done clears the line, so that what follows starts on a clean line.
func (s *statusLine) Done() {
	if s.drawn {
		io.WriteString(s.w, "\r\x1b[K")
		s.drawn = false
	}
}
