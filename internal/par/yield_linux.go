package par

import "syscall"

// osYield offers the core to another thread of any process (sched_yield).
func osYield() { syscall.RawSyscall(syscall.SYS_SCHED_YIELD, 0, 0, 0) }
