package tableprinter

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRender(t *testing.T) {
	for _, tt := range []struct {
		name     string
		terminal bool
		want     string
	}{
		{"terminal", true, "exit    MACs\n1     15.13M\n10     1.00k\n"},
		{"piped", false, "exit\tMACs\n1\t15.13M\n10\t1.00k\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			p := New(&buf, tt.terminal)
			p.AlignRight(1)
			p.AddRow("exit", "MACs")
			p.AddRow("1", Human(15128842))
			p.AddRow("10", Human(1000))
			if err := p.Render(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, buf.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestFieldsStayOnOneRecord(t *testing.T) {
	var buf bytes.Buffer
	p := New(&buf, false)
	p.AddRow("a\tb", "c\nd")
	p.Render()
	if got, want := buf.String(), "a b\tc d\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestHuman(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1290: "1.29k", 121563236: "121.56M", 1360529624: "1.36G", -2500: "-2.50k"} {
		if got := Human(n); got != want {
			t.Errorf("Human(%d) = %q, want %q", n, got, want)
		}
	}
}
