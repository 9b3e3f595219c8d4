package cli

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestStatusLine drives a statusLine with a fake clock: silent for the first two seconds,
// then a line every ten seconds when piped, or redrawn and cut to the width on a terminal.
func TestStatusLine(t *testing.T) {
	type update struct {
		at          time.Duration
		done, total int
	}
	updates := []update{{500 * time.Millisecond, 1, 100}, {2500 * time.Millisecond, 10, 100}, {3 * time.Second, 12, 100},
		{13 * time.Second, 50, 100}, {14 * time.Second, 100, 100}}
	tests := []struct {
		name  string
		width int
		want  string
	}{
		{"piped", 0, "msdx: test split: 10/100 images, ETA 23s\n" +
			"msdx: test split: 50/100 images, ETA 13s\n" +
			"msdx: test split: 100/100 images\n"},
		{"terminal", 30, "\r\x1b[Kmsdx: test split: 10/100 imag" +
			"\r\x1b[Kmsdx: test split: 12/100 imag" +
			"\r\x1b[Kmsdx: test split: 50/100 imag" +
			"\r\x1b[Kmsdx: test split: 100/100 ima" +
			"\r\x1b[K"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			start := time.Unix(0, 0)
			now := start
			s := newStatusLineAt(&IOStreams{ErrOut: &buf, ErrWidth: tt.width}, func() time.Time { return now })
			// 2.5 s for the first 10 images: 22.5 s for the other 90.
			for _, u := range updates {
				now = start.Add(u.at)
				s.Update("test split", u.done, u.total, "images")
			}
			s.Done()
			if diff := cmp.Diff(tt.want, buf.String()); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

// TestStatusLineQuick: a step done within the delay prints nothing.
func TestStatusLineQuick(t *testing.T) {
	var buf bytes.Buffer
	s := newStatusLine(&IOStreams{ErrOut: &buf, ErrWidth: 80})
	for i := 1; i <= 10; i++ {
		s.Update("validation split", i, 10, "images")
	}
	s.Done()
	if buf.Len() != 0 {
		t.Errorf("output %q, want none", buf.String())
	}
}

// TestDevNullIsNoTerminal: /dev/null is a character device but no terminal, so output
// redirected there is written for programs, not drawn for people.
func TestDevNullIsNoTerminal(t *testing.T) {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	if isTerminal(f) || terminalWidth(f) != 0 {
		t.Errorf("%s counts as a terminal (width %d)", os.DevNull, terminalWidth(f))
	}
}
