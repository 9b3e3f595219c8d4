//go:build !unix

package evaluate

import "time"

// cpuTime returns 0: the process's CPU time is only measured on Unix systems.
func cpuTime() time.Duration { return 0 }
